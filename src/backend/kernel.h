// Kernel: one node's compiled implementation for one backend and one set of input shapes.
// Created once by Plan compilation (primitives built in the constructor), then called every
// step; forward/backward must not allocate heap memory after their first call.
#pragma once

#include "ops/op.h"

#include <cstddef>
#include <memory>
#include <string_view>
#include <vector>

namespace convkit::backend {

using ops::BackwardCall;
using ops::ForwardCall;
using ops::Mode;
using ops::TensorSpec;

class Kernel {
 public:
  virtual ~Kernel() = default;
  virtual std::string_view name() const = 0;  // "ref", "onednn"; shown by profiling
  // Tensors kept from forward to backward (Train mode), e.g. a pooling workspace.
  virtual std::vector<TensorSpec> saved() const = 0;
  // Transient memory for one forward or backward call.
  virtual std::size_t scratch_bytes() const { return 0; }
  virtual void forward(const ForwardCall& call) = 0;
  virtual void backward(const BackwardCall& call) = 0;
};

// What a backend is asked to build a kernel for.
struct KernelRequest {
  const ops::Op& op;
  std::vector<TensorSpec> inputs;
  std::vector<TensorSpec> outputs;
  Mode mode = Mode::Infer;
  bool backward = false;           // backward() will be called (Train mode, some grad needed)
  bool param_grads = false;        // weight gradients are needed (the layer is not frozen)
  std::vector<bool> input_grads;   // per input: its gradient is needed

  // Every input and output is Layout::Plain (what kernels without a layout offer require).
  bool all_plain() const {
    for (const auto* specs : {&inputs, &outputs})
      for (const TensorSpec& s : *specs)
        if (s.layout != ops::Layout::Plain) return false;
    return true;
  }
};

// Which of a kernel's tensors it can take in Layout::Blocked16 (by input and output index; a
// missing entry means Plain only). The plan asks before building kernels and then states each
// tensor's layout in the KernelRequest's specs.
struct LayoutOffer {
  std::vector<bool> inputs, outputs;
  // The kernel writes its outputs in its inputs' layout (no conversion): the plan then stores an
  // input blocked only where the outputs can be stored blocked too.
  bool same_layout = false;
};

// The op's own reference kernel, wrapped as a Kernel: every op runs on every backend.
class ReferenceKernel final : public Kernel {
 public:
  explicit ReferenceKernel(const KernelRequest& request);
  std::string_view name() const override { return "ref"; }
  std::vector<TensorSpec> saved() const override { return saved_; }
  void forward(const ForwardCall& call) override { op_.forward(call); }
  void backward(const BackwardCall& call) override { op_.backward(call); }

 private:
  const ops::Op& op_;
  std::vector<TensorSpec> saved_;
};

}  // namespace convkit::backend
