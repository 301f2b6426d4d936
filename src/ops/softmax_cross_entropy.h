// SoftmaxCrossEntropy: the classification loss, fused with softmax for stability.
// Inputs: logits [N, K] f32 and targets: class labels [N] i32, or soft targets [N, K] f32
// (mixup/cutmix later). Output: the mean loss, shape [1].
// label_smoothing e: the target becomes (1-e)*onehot + e/K (PyTorch's definition).
// class_weights w (size K, optional): loss = sum_i w[y_i] * l_i / sum_i w[y_i] (PyTorch's
// weighted mean); with soft targets each class term is weighted by w[k].
// Saved (Train): the softmax probabilities [N, K]. dlogits = (p - target) * weights / norm.
#pragma once

#include "ops/op.h"

#include <memory>

namespace convkit::ops {

struct SoftmaxCrossEntropyAttrs {
  double label_smoothing = 0.0;
  std::vector<double> class_weights;  // empty = all ones
};

class SoftmaxCrossEntropy final : public Op {
 public:
  explicit SoftmaxCrossEntropy(SoftmaxCrossEntropyAttrs attrs);
  const SoftmaxCrossEntropyAttrs& loss_attrs() const { return a_; }

  std::string_view type() const override { return "SoftmaxCrossEntropy"; }
  Attrs attrs() const override;
  std::vector<TensorSpec> infer(std::span<const TensorSpec> inputs) const override;
  std::vector<TensorSpec> saved(std::span<const TensorSpec> inputs) const override;
  BackwardNeeds backward_needs() const override { return {.inputs = true, .outputs = false}; }
  bool differentiable(int input) const override { return input == 0; }
  double flops(std::span<const TensorSpec> inputs) const override;
  void forward(const ForwardCall& call) const override;
  void backward(const BackwardCall& call) const override;

 private:
  SoftmaxCrossEntropyAttrs a_;
};

std::shared_ptr<const Op> make_softmax_cross_entropy(const Attrs& attrs);

}  // namespace convkit::ops
