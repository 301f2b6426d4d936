// Add: elementwise sum of two or more tensors of one shape (residual connections).
#pragma once

#include "ops/op.h"

#include <memory>

namespace convkit::ops {

class Add final : public Op {
 public:
  std::string_view type() const override { return "Add"; }
  Attrs attrs() const override { return {}; }
  std::vector<TensorSpec> infer(std::span<const TensorSpec> inputs) const override;
  BackwardNeeds backward_needs() const override { return {.inputs = false, .outputs = false}; }
  double flops(std::span<const TensorSpec> inputs) const override;
  void forward(const ForwardCall& call) const override;
  void backward(const BackwardCall& call) const override;
};

std::shared_ptr<const Op> make_add(const Attrs& attrs);

}  // namespace convkit::ops
