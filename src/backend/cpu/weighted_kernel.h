// WeightedKernel: the part the oneDNN convolution and inner-product kernels share. A subclass
// builds the forward program (x, w [, b] -> y) and the backward program in three step groups
// (prologue: ReLU mask of dy when fused; data: dx; weights: dw [, db]) and fills the slots; this
// class binds the call's tensors and runs only the groups a call needs (internal header).
#pragma once

#include "backend/cpu/onednn_common.h"
#include "backend/kernel.h"

#include <algorithm>
#include <cstdint>

namespace convkit::backend::cpu {

class WeightedKernel : public Kernel {
 public:
  // Backward step groups (Program::set_group).
  static constexpr std::uint32_t kPrologue = 1u << 0, kData = 1u << 1, kWeights = 1u << 2;

  std::string_view name() const override { return "onednn"; }
  std::vector<TensorSpec> saved() const override { return {}; }
  std::size_t scratch_bytes() const override {
    return std::max(fwd_.scratch_bytes(), bwd_.scratch_bytes());
  }
  void forward(const ForwardCall& call) override;
  void backward(const BackwardCall& call) override;

 protected:
  using Slot = Program::Slot;
  bool bias_ = false;
  Program fwd_;
  Slot fx_ = -1, fw_ = -1, fb_ = -1, fy_ = -1;
  Program bwd_;
  Slot bdy_ = -1, by_ = -1, bx_ = -1, bw_ = -1, bdx_ = -1, bdw_ = -1, bdb_ = -1;
};

}  // namespace convkit::backend::cpu
