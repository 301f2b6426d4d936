// GlobalAvgPool: mean over H and W. [N, C, H, W] -> [N, C] (Keras), or [N, C, 1, 1] with
// keepdims (ONNX GlobalAveragePool).
#pragma once

#include "ops/op.h"

#include <memory>

namespace convkit::ops {

class GlobalAvgPool final : public Op {
 public:
  explicit GlobalAvgPool(bool keepdims = false) : keepdims_(keepdims) {}
  bool keepdims() const { return keepdims_; }

  std::string_view type() const override { return "GlobalAvgPool"; }
  Attrs attrs() const override;
  std::vector<TensorSpec> infer(std::span<const TensorSpec> inputs) const override;
  BackwardNeeds backward_needs() const override { return {.inputs = false, .outputs = false}; }
  double flops(std::span<const TensorSpec> inputs) const override;
  void forward(const ForwardCall& call) const override;
  void backward(const BackwardCall& call) const override;

 private:
  bool keepdims_;
};

std::shared_ptr<const Op> make_global_avg_pool(const Attrs& attrs);

}  // namespace convkit::ops
