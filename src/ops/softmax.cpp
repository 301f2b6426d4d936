// Softmax over dim 1: reference kernel. The input [N, K, ...] is seen as [N, K, P] with
// P = product of the trailing dims (1 for [N, K]); each of the N*P columns of K values is
// independent, so the loops parallelize over columns and reduce over K in one thread.
#include "ops/softmax.h"

#include <algorithm>
#include <cmath>

namespace convkit::ops {

namespace {
constexpr std::int64_t kParallelMin = 32768;  // elements
}

std::vector<TensorSpec> Softmax::infer(std::span<const TensorSpec> inputs) const {
  expect_inputs("Softmax", inputs, 1);
  const TensorSpec& x = inputs[0];
  if (x.shape.rank() < 2)
    shape_fail("Softmax expects an input [N, K] or [N, K, ...], got {}", x.shape.str());
  if (x.dtype != DType::f32)
    shape_fail("Softmax expects an f32 input, got {} {}", name_of(x.dtype), x.shape.str());
  return {x};
}

double Softmax::flops(std::span<const TensorSpec> inputs) const {
  // max, subtract, exp, sum, scale: about 5 operations per element.
  return 5.0 * double(inputs[0].shape.numel());
}

void Softmax::forward(const ForwardCall& call) const {
  const Shape& shape = call.inputs[0].shape();
  const std::int64_t n = shape[0], k = shape[1], p = shape.numel_from(2);
  const float* x = call.inputs[0].data<float>();
  float* y = call.outputs[0].data<float>();
#pragma omp parallel for schedule(static) if (n * k * p > kParallelMin)
  for (std::int64_t col = 0; col < n * p; ++col) {
    // Column (i, q) holds x[i, j, q] for j in [0, K) at stride P.
    const std::int64_t base = (col / p) * k * p + col % p;
    const float* xc = x + base;
    float* yc = y + base;
    float m = -INFINITY;
    for (std::int64_t j = 0; j < k; ++j) m = std::max(m, xc[j * p]);
    double sum = 0;
    for (std::int64_t j = 0; j < k; ++j) {
      const float e = std::exp(xc[j * p] - m);
      yc[j * p] = e;
      sum += e;
    }
    const float inv = float(1.0 / sum);
    for (std::int64_t j = 0; j < k; ++j) yc[j * p] *= inv;
  }
}

void Softmax::backward(const BackwardCall& call) const {
  const Tensor& grad_input = call.grad_inputs[0];
  if (!grad_input.defined()) return;
  const Shape& shape = call.outputs[0].shape();
  const std::int64_t n = shape[0], k = shape[1], p = shape.numel_from(2);
  const float* y = call.outputs[0].data<float>();
  const float* dy = call.grad_outputs[0].data<float>();
  float* dx = grad_input.data<float>();
#pragma omp parallel for schedule(static) if (n * k * p > kParallelMin)
  for (std::int64_t col = 0; col < n * p; ++col) {
    const std::int64_t base = (col / p) * k * p + col % p;
    double dot = 0;  // sum_j dy_j y_j
    for (std::int64_t j = 0; j < k; ++j) dot += double(dy[base + j * p]) * y[base + j * p];
    const float d = float(dot);
    for (std::int64_t j = 0; j < k; ++j) {
      const std::int64_t at = base + j * p;
      dx[at] = y[at] * (dy[at] - d);
    }
  }
}

std::shared_ptr<const Op> make_softmax(const Attrs&) {
  return std::make_shared<Softmax>();
}

}  // namespace convkit::ops
