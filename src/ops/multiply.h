// Multiply: elementwise product of two tensors, x0 [N, ...] times x1 of the same shape or, for
// squeeze-excitation gating, x0 [N, C, H, W] times x1 [N, C, 1, 1] (x1 broadcast over H, W).
#pragma once

#include "ops/op.h"

#include <memory>

namespace convkit::ops {

class Multiply final : public Op {
 public:
  std::string_view type() const override { return "Multiply"; }
  Attrs attrs() const override { return {}; }
  std::vector<TensorSpec> infer(std::span<const TensorSpec> inputs) const override;
  BackwardNeeds backward_needs() const override { return {.inputs = true, .outputs = false}; }
  double flops(std::span<const TensorSpec> inputs) const override;
  void forward(const ForwardCall& call) const override;
  void backward(const BackwardCall& call) const override;
};

std::shared_ptr<const Op> make_multiply(const Attrs& attrs);

}  // namespace convkit::ops
