// GlobalAvgPool reference kernel: y[n, c] = mean over (h, w) of x[n, c, h, w];
// dx[n, c, h, w] = dy[n, c] / (H * W). One (n, c) plane per OpenMP iteration.
#include "ops/global_avg_pool.h"

#include <algorithm>

namespace convkit::ops {

// Loops with less work than this run on one thread (forking costs more than it saves).
constexpr std::int64_t kParallelWork = 32768;

Attrs GlobalAvgPool::attrs() const {
  return {{"keepdims", keepdims_}};
}

std::vector<TensorSpec> GlobalAvgPool::infer(std::span<const TensorSpec> inputs) const {
  expect_inputs("GlobalAvgPool", inputs, 1);
  expect_rank("GlobalAvgPool", inputs[0], 4, "[N, C, H, W]");
  if (inputs[0].dtype != DType::f32)
    shape_fail("GlobalAvgPool expects an f32 input, got {}", name_of(inputs[0].dtype));
  const Shape& s = inputs[0].shape;
  if (s[2] * s[3] == 0) shape_fail("GlobalAvgPool needs a non-empty H x W, got input {}", s.str());
  return {{keepdims_ ? Shape{s[0], s[1], 1, 1} : Shape{s[0], s[1]}, DType::f32}};
}

double GlobalAvgPool::flops(std::span<const TensorSpec> inputs) const {
  return double(inputs[0].shape.numel());
}

void GlobalAvgPool::forward(const ForwardCall& call) const {
  const Tensor& xt = call.inputs[0];
  const std::int64_t planes = xt.dim(0) * xt.dim(1), hw = xt.dim(2) * xt.dim(3);
  const float* x = xt.data<float>();
  float* y = call.outputs[0].data<float>();
#pragma omp parallel for schedule(static) if (planes * hw > kParallelWork)
  for (std::int64_t p = 0; p < planes; ++p) {
    double s = 0;
    for (std::int64_t i = 0; i < hw; ++i) s += x[p * hw + i];
    y[p] = float(s / double(hw));
  }
}

void GlobalAvgPool::backward(const BackwardCall& call) const {
  if (call.grad_inputs.empty() || !call.grad_inputs[0].defined()) return;
  const Tensor& dxt = call.grad_inputs[0];
  const std::int64_t planes = dxt.dim(0) * dxt.dim(1), hw = dxt.dim(2) * dxt.dim(3);
  const float* dy = call.grad_outputs[0].data<float>();
  float* dx = dxt.data<float>();
#pragma omp parallel for schedule(static) if (planes * hw > kParallelWork)
  for (std::int64_t p = 0; p < planes; ++p)
    std::fill(dx + p * hw, dx + (p + 1) * hw, dy[p] / float(hw));
}

std::shared_ptr<const Op> make_global_avg_pool(const Attrs& attrs) {
  return std::make_shared<GlobalAvgPool>(attrs.get_bool("keepdims", false));
}

}  // namespace convkit::ops
