// Pad reference kernel: y = value everywhere, then each x row copied into its place; backward
// copies the rows of dy under x's window into dx. One (n, c) plane per OpenMP iteration.
#include "ops/pad.h"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace convkit::ops {

namespace {
constexpr std::int64_t kParallelWork = 32768;
}

Pad::Pad(PadAttrs attrs) : a_(attrs) {
  for (std::int64_t p : a_.pads)
    if (p < 0)
      fail("attribute 'pads' must be >= 0 ([top, left, bottom, right]), got [{}, {}, {}, {}]",
           a_.pads[0], a_.pads[1], a_.pads[2], a_.pads[3]);
  if (!std::isfinite(a_.value)) fail("attribute 'value' must be finite, got {}", a_.value);
}

Attrs Pad::attrs() const {
  return {{"pads", std::vector<std::int64_t>(a_.pads.begin(), a_.pads.end())}, {"value", a_.value}};
}

std::vector<TensorSpec> Pad::infer(std::span<const TensorSpec> inputs) const {
  expect_inputs("Pad", inputs, 1);
  expect_rank("Pad", inputs[0], 4, "[N, C, H, W]");
  if (inputs[0].dtype != DType::f32)
    shape_fail("Pad expects an f32 input, got {}", name_of(inputs[0].dtype));
  const Shape& s = inputs[0].shape;
  return {{Shape{s[0], s[1], s[2] + a_.pads[0] + a_.pads[2], s[3] + a_.pads[1] + a_.pads[3]},
           DType::f32}};
}

void Pad::forward(const ForwardCall& call) const {
  const Tensor& xt = call.inputs[0];
  const Tensor& yt = call.outputs[0];
  const std::int64_t planes = xt.dim(0) * xt.dim(1), h = xt.dim(2), w = xt.dim(3);
  const std::int64_t oh = yt.dim(2), ow = yt.dim(3);
  const float* x = xt.data<float>();
  float* y = yt.data<float>();
  const float value = float(a_.value);
  const std::int64_t top = a_.pads[0], left = a_.pads[1];
#pragma omp parallel for schedule(static) if (planes * oh * ow > kParallelWork)
  for (std::int64_t p = 0; p < planes; ++p) {
    float* yp = y + p * oh * ow;
    std::fill(yp, yp + oh * ow, value);
    for (std::int64_t i = 0; i < h; ++i)
      std::memcpy(yp + (i + top) * ow + left, x + (p * h + i) * w, std::size_t(w) * sizeof(float));
  }
}

void Pad::backward(const BackwardCall& call) const {
  const Tensor& dxt = call.grad_inputs[0];
  if (!dxt.defined()) return;
  const Tensor& dyt = call.grad_outputs[0];
  const std::int64_t planes = dxt.dim(0) * dxt.dim(1), h = dxt.dim(2), w = dxt.dim(3);
  const std::int64_t oh = dyt.dim(2), ow = dyt.dim(3);
  const float* dy = dyt.data<float>();
  float* dx = dxt.data<float>();
  const std::int64_t top = a_.pads[0], left = a_.pads[1];
#pragma omp parallel for schedule(static) if (planes * h * w > kParallelWork)
  for (std::int64_t p = 0; p < planes; ++p)
    for (std::int64_t i = 0; i < h; ++i)
      std::memcpy(dx + (p * h + i) * w, dy + p * oh * ow + (i + top) * ow + left,
                  std::size_t(w) * sizeof(float));
}

std::shared_ptr<const Op> make_pad(const Attrs& attrs) {
  const auto pads = attrs.get_ints("pads", {0, 0, 0, 0});
  if (pads.size() != 4)
    fail("attribute 'pads' must be [top, left, bottom, right], got {} values", pads.size());
  return std::make_shared<Pad>(PadAttrs{.pads = {pads[0], pads[1], pads[2], pads[3]},
                                        .value = attrs.get_float("value", 0.0)});
}

}  // namespace convkit::ops
