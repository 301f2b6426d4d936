// Dense (fully connected): y = x W^T + b, optional fused ReLU.
// Shapes: x [N, K], weight [U, K] (PyTorch Linear / oneDNN "oi" layout), bias [U], y [N, U].
#pragma once

#include "ops/op.h"

#include <memory>

namespace convkit::ops {

struct DenseAttrs {
  std::int64_t units = 0;
  bool bias = true;
  FusedActivation activation = FusedActivation::None;
};

class Dense final : public Op {
 public:
  explicit Dense(DenseAttrs attrs);
  const DenseAttrs& dense_attrs() const { return a_; }

  std::string_view type() const override { return "Dense"; }
  Attrs attrs() const override;
  std::vector<TensorSpec> infer(std::span<const TensorSpec> inputs) const override;
  std::vector<ParamSpec> params(std::span<const TensorSpec> inputs) const override;
  BackwardNeeds backward_needs() const override;
  double flops(std::span<const TensorSpec> inputs) const override;
  void forward(const ForwardCall& call) const override;
  void backward(const BackwardCall& call) const override;

 private:
  DenseAttrs a_;
};

std::shared_ptr<const Op> make_dense(const Attrs& attrs);

}  // namespace convkit::ops
