// SoftmaxCrossEntropy: reference kernel of the fused softmax + cross-entropy loss, following
// PyTorch's F.cross_entropy (mean reduction) for class weights w and label smoothing e.
//
// Shapes: logits x [N, K] (N batch, K classes); targets labels y [N] i32 or soft targets
// s [N, K] f32. With log p = x - lse(x) per row and the smoothed target
//   t[i,k] = (1-e) * onehot(y_i)[k] + e/K   (labels)   or   (1-e) * s[i,k] + e/K   (soft),
// loss = sum_i sum_k w[k] t[i,k] (-log p[i,k]) / D,  D = sum_i w[y_i] (labels) or N (soft).
// (For labels this equals PyTorch's (1-e) * weighted NLL + e/K * weighted smoothing term, both
// normalized by sum_i w[y_i].) With S_i = sum_k w[k] t[i,k]:
//   dloss/dx[i,j] = (p[i,j] S_i - w[j] t[i,j]) / D.
// NOTE: if every label of the batch has weight 0, D = 0 and the loss is NaN, as in PyTorch.
#include "ops/softmax_cross_entropy.h"

#include <algorithm>
#include <cmath>

namespace convkit::ops {

namespace {

constexpr std::int64_t kParallelMin = 16384;  // logits elements
// Forward sums row losses in this many fixed row ranges, then adds the partial sums in order:
// the result does not depend on the thread count and needs no heap memory.
constexpr int kChunks = 64;

// log(sum_k exp(x[k])) in double, with the max subtracted (no overflow, no log(0)).
double log_sum_exp(const float* x, std::int64_t k) {
  float m = x[0];
  for (std::int64_t j = 1; j < k; ++j) m = std::max(m, x[j]);
  double sum = 0;
  for (std::int64_t j = 0; j < k; ++j) sum += std::exp(double(x[j]) - double(m));
  return double(m) + std::log(sum);
}

// What forward and backward share: the targets as t[i, k] and the weights w[k].
struct Targets {
  const std::int32_t* labels = nullptr;  // [N], or null for soft targets
  const float* soft = nullptr;           // [N, K]
  const double* weights = nullptr;       // [K], or null for all ones
  std::int64_t k = 0;
  double smoothing = 0;

  double w(std::int64_t j) const { return weights ? weights[j] : 1.0; }
  double t(std::int64_t i, std::int64_t j) const {
    const double base = labels ? (labels[i] == j ? 1.0 : 0.0) : double(soft[i * k + j]);
    return (1.0 - smoothing) * base + smoothing / double(k);
  }
};

Targets targets_of(const SoftmaxCrossEntropyAttrs& a, const Tensor& logits, const Tensor& targets) {
  Targets t;
  t.k = logits.dim(1);
  t.smoothing = a.label_smoothing;
  t.weights = a.class_weights.empty() ? nullptr : a.class_weights.data();
  if (targets.dtype() == DType::i32)
    t.labels = targets.data<std::int32_t>();
  else
    t.soft = targets.data<float>();
  return t;
}

// Checks every label (serially, before any parallel loop, so the throw is safe) and returns the
// normalizer D.
double normalizer(const Targets& t, std::int64_t n) {
  if (!t.labels) return double(n);
  double d = 0;
  for (std::int64_t i = 0; i < n; ++i) {
    const std::int32_t y = t.labels[i];
    if (y < 0 || y >= t.k)
      fail("SoftmaxCrossEntropy: label {} of sample {} is outside [0, {})", y, i, t.k);
    d += t.w(y);
  }
  return d;
}

}  // namespace

SoftmaxCrossEntropy::SoftmaxCrossEntropy(SoftmaxCrossEntropyAttrs attrs) : a_(std::move(attrs)) {
  if (!(a_.label_smoothing >= 0.0 && a_.label_smoothing <= 1.0))
    fail("SoftmaxCrossEntropy label_smoothing must be in [0, 1], got {}", a_.label_smoothing);
  for (std::size_t k = 0; k < a_.class_weights.size(); ++k)
    if (!(std::isfinite(a_.class_weights[k]) && a_.class_weights[k] >= 0.0))
      fail("SoftmaxCrossEntropy class weight {} must be finite and >= 0, got {}", k,
           a_.class_weights[k]);
}

Attrs SoftmaxCrossEntropy::attrs() const {
  Attrs attrs{{"label_smoothing", a_.label_smoothing}};
  if (!a_.class_weights.empty()) attrs.set("class_weights", a_.class_weights);
  return attrs;
}

std::vector<TensorSpec> SoftmaxCrossEntropy::infer(std::span<const TensorSpec> inputs) const {
  constexpr std::string_view kOp = "SoftmaxCrossEntropy";
  expect_inputs(kOp, inputs, 2);
  const TensorSpec& logits = inputs[0];
  const TensorSpec& targets = inputs[1];
  expect_rank(kOp, logits, 2, "[N, K]");
  if (logits.dtype != DType::f32)
    shape_fail("{} expects f32 logits [N, K], got {} {}", kOp, name_of(logits.dtype),
               logits.shape.str());
  const std::int64_t n = logits.shape[0], k = logits.shape[1];
  if (k < 1) shape_fail("{} needs at least one class, got logits {}", kOp, logits.shape.str());
  const bool labels = targets.dtype == DType::i32 && targets.shape == Shape{n};
  const bool soft = targets.dtype == DType::f32 && targets.shape == logits.shape;
  if (!labels && !soft)
    shape_fail("{} expects targets i32 [{}] (labels) or f32 {} (soft) for logits {}, got {} {}",
               kOp, n, logits.shape.str(), logits.shape.str(), name_of(targets.dtype),
               targets.shape.str());
  if (!a_.class_weights.empty() && std::int64_t(a_.class_weights.size()) != k)
    shape_fail("{} has {} class weights for {} classes (logits {})", kOp, a_.class_weights.size(),
               k, logits.shape.str());
  return {{Shape{1}, DType::f32}};
}

std::vector<TensorSpec> SoftmaxCrossEntropy::saved(std::span<const TensorSpec> inputs) const {
  return {{inputs[0].shape, DType::f32}};  // the probabilities p [N, K]
}

double SoftmaxCrossEntropy::flops(std::span<const TensorSpec> inputs) const {
  // max, exp, sum, log, and the weighted target sum: about 6 operations per logit.
  return 6.0 * double(inputs[0].shape.numel());
}

void SoftmaxCrossEntropy::forward(const ForwardCall& call) const {
  const Tensor& logits = call.inputs[0];
  const std::int64_t n = logits.dim(0), k = logits.dim(1);
  const Targets t = targets_of(a_, logits, call.inputs[1]);
  const double denom = normalizer(t, n);
  const float* x = logits.data<float>();
  float* probs = call.mode == Mode::Train && !call.saved.empty() && call.saved[0].defined()
                     ? call.saved[0].data<float>()
                     : nullptr;
  const double e = t.smoothing;
  double partial[kChunks] = {};
#pragma omp parallel for schedule(static) if (n * k > kParallelMin)
  for (int c = 0; c < kChunks; ++c) {
    double acc = 0;
    for (std::int64_t i = n * c / kChunks; i < n * (c + 1) / kChunks; ++i) {
      const float* xi = x + i * k;
      const double lse = log_sum_exp(xi, k);
      // -log p[i,j] = lse - x[i,j] >= 0.
      if (t.labels) {
        const std::int32_t y = t.labels[i];
        acc += (1.0 - e) * t.w(y) * (lse - double(xi[y]));
        if (e > 0) {
          double smooth = 0;
          for (std::int64_t j = 0; j < k; ++j) smooth += t.w(j) * (lse - double(xi[j]));
          acc += e / double(k) * smooth;
        }
      } else {
        for (std::int64_t j = 0; j < k; ++j) acc += t.w(j) * t.t(i, j) * (lse - double(xi[j]));
      }
      if (probs)
        for (std::int64_t j = 0; j < k; ++j)
          probs[i * k + j] = float(std::exp(double(xi[j]) - lse));
    }
    partial[c] = acc;
  }
  double total = 0;
  for (double p : partial) total += p;
  call.outputs[0].data<float>()[0] = float(total / denom);
}

void SoftmaxCrossEntropy::backward(const BackwardCall& call) const {
  const Tensor& grad_logits = call.grad_inputs[0];
  if (!grad_logits.defined()) return;
  const Tensor& logits = call.inputs[0];
  const std::int64_t n = logits.dim(0), k = logits.dim(1);
  const Targets t = targets_of(a_, logits, call.inputs[1]);
  const double scale = double(call.grad_outputs[0].data<float>()[0]) / normalizer(t, n);
  const float* x = logits.data<float>();
  // The probabilities saved by forward; recomputed from the logits when there are none.
  const float* probs =
      !call.saved.empty() && call.saved[0].defined() ? call.saved[0].data<float>() : nullptr;
  double weight_sum = 0;  // sum_k w[k], for S_i with labels
  for (std::int64_t j = 0; j < k; ++j) weight_sum += t.w(j);
  const double e = t.smoothing;
  float* dx = grad_logits.data<float>();
#pragma omp parallel for schedule(static) if (n * k > kParallelMin)
  for (std::int64_t i = 0; i < n; ++i) {
    const float* xi = x + i * k;
    const double lse = probs ? 0.0 : log_sum_exp(xi, k);
    double s = 0;  // S_i = sum_k w[k] t[i,k]
    if (t.labels)
      s = (1.0 - e) * t.w(t.labels[i]) + e / double(k) * weight_sum;
    else
      for (std::int64_t j = 0; j < k; ++j) s += t.w(j) * t.t(i, j);
    for (std::int64_t j = 0; j < k; ++j) {
      const double p = probs ? double(probs[i * k + j]) : std::exp(double(xi[j]) - lse);
      dx[i * k + j] = float(scale * (p * s - t.w(j) * t.t(i, j)));
    }
  }
}

std::shared_ptr<const Op> make_softmax_cross_entropy(const Attrs& attrs) {
  return std::make_shared<SoftmaxCrossEntropy>(
      SoftmaxCrossEntropyAttrs{.label_smoothing = attrs.get_float("label_smoothing", 0.0),
                               .class_weights = attrs.get_floats("class_weights", {})});
}

}  // namespace convkit::ops
