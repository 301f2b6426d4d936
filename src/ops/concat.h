// Concat: joins tensors along `axis` (default 1, the channels of [N, C, H, W]); all other dims
// must match. Backward slices the gradient back.
#pragma once

#include "ops/op.h"

#include <memory>

namespace convkit::ops {

class Concat final : public Op {
 public:
  explicit Concat(int axis = 1);
  int axis() const { return axis_; }

  std::string_view type() const override { return "Concat"; }
  Attrs attrs() const override;
  std::vector<TensorSpec> infer(std::span<const TensorSpec> inputs) const override;
  BackwardNeeds backward_needs() const override { return {.inputs = false, .outputs = false}; }
  void forward(const ForwardCall& call) const override;
  void backward(const BackwardCall& call) const override;

 private:
  int axis_;
};

std::shared_ptr<const Op> make_concat(const Attrs& attrs);

}  // namespace convkit::ops
