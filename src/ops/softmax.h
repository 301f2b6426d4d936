// Softmax over dim 1 of [N, K] (or [N, K, ...]: over K at each position). Numerically stable
// (max subtracted). Backward uses the output: dx = y * (dy - sum(dy * y)).
#pragma once

#include "ops/op.h"

#include <memory>

namespace convkit::ops {

class Softmax final : public Op {
 public:
  std::string_view type() const override { return "Softmax"; }
  Attrs attrs() const override { return {}; }
  std::vector<TensorSpec> infer(std::span<const TensorSpec> inputs) const override;
  BackwardNeeds backward_needs() const override { return {.inputs = false, .outputs = true}; }
  double flops(std::span<const TensorSpec> inputs) const override;
  void forward(const ForwardCall& call) const override;
  void backward(const BackwardCall& call) const override;
};

std::shared_ptr<const Op> make_softmax(const Attrs& attrs);

}  // namespace convkit::ops
