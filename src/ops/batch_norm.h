// BatchNorm over channels (dim 1) of [N, C, H, W] or [N, C], optional fused ReLU.
// Train: normalize with the batch mean and biased variance; update running stats as PyTorch
// does: running = (1 - momentum) * running + momentum * batch (unbiased variance).
// Infer: normalize with the running statistics.
// Params, in order: gamma [C] (ones), beta [C] (zeros), running_mean [C] (zeros, buffer),
// running_var [C] (ones, buffer). Saved (Train): batch mean [C], inverse std [C].
#pragma once

#include "ops/op.h"

#include <memory>

namespace convkit::ops {

struct BatchNormAttrs {
  double momentum = 0.1;
  double epsilon = 1e-5;
  FusedActivation activation = FusedActivation::None;
};

class BatchNorm final : public Op {
 public:
  explicit BatchNorm(BatchNormAttrs attrs);
  const BatchNormAttrs& bn_attrs() const { return a_; }

  std::string_view type() const override { return "BatchNorm"; }
  Attrs attrs() const override;
  std::vector<TensorSpec> infer(std::span<const TensorSpec> inputs) const override;
  std::vector<ParamSpec> params(std::span<const TensorSpec> inputs) const override;
  std::vector<TensorSpec> saved(std::span<const TensorSpec> inputs) const override;
  BackwardNeeds backward_needs() const override;
  double flops(std::span<const TensorSpec> inputs) const override;
  void forward(const ForwardCall& call) const override;
  void backward(const BackwardCall& call) const override;

 private:
  BatchNormAttrs a_;
};

std::shared_ptr<const Op> make_batch_norm(const Attrs& attrs);

}  // namespace convkit::ops
