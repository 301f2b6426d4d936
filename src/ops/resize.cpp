// Resize reference kernel: per output row and column, at most two source taps and weights
// (bilinear) or one (nearest), computed once per call; forward gathers through them, backward
// scatters dy back. One (n, c) plane per OpenMP iteration.
#include "ops/resize.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

namespace convkit::ops {

namespace {

constexpr std::int64_t kParallelWork = 32768;

// Output i reads source indices lo[i], hi[i] with weights 1 - f[i], f[i].
struct AxisTaps {
  std::vector<std::int64_t> lo, hi;
  std::vector<float> f;
};

AxisTaps taps(std::int64_t in, std::int64_t out, bool nearest) {
  AxisTaps t;
  t.lo.resize(std::size_t(out));
  t.hi.resize(std::size_t(out));
  t.f.resize(std::size_t(out));
  const double scale = double(in) / double(out);
  for (std::int64_t i = 0; i < out; ++i) {
    if (nearest) {
      t.lo[i] = t.hi[i] = std::min(std::int64_t(std::floor(double(i) * scale)), in - 1);
      t.f[i] = 0;
      continue;
    }
    const double src = std::max(0.0, (double(i) + 0.5) * scale - 0.5);
    const auto lo = std::min(std::int64_t(std::floor(src)), in - 1);
    t.lo[i] = lo;
    t.hi[i] = std::min(lo + 1, in - 1);
    t.f[i] = float(src - double(lo));
  }
  return t;
}

}  // namespace

Resize::Resize(ResizeAttrs attrs) : a_(std::move(attrs)) {
  if (a_.height < 1 || a_.width < 1)
    fail("attributes 'height' and 'width' must be >= 1, got {} x {}", a_.height, a_.width);
  if (a_.mode != "bilinear" && a_.mode != "nearest")
    fail("attribute 'mode' must be bilinear or nearest, got '{}'", a_.mode);
}

Attrs Resize::attrs() const {
  return {{"height", a_.height}, {"width", a_.width}, {"mode", a_.mode}};
}

std::vector<TensorSpec> Resize::infer(std::span<const TensorSpec> inputs) const {
  expect_inputs("Resize", inputs, 1);
  expect_rank("Resize", inputs[0], 4, "[N, C, H, W]");
  if (inputs[0].dtype != DType::f32)
    shape_fail("Resize expects an f32 input, got {}", name_of(inputs[0].dtype));
  const Shape& s = inputs[0].shape;
  return {{Shape{s[0], s[1], a_.height, a_.width}, DType::f32}};
}

double Resize::flops(std::span<const TensorSpec> inputs) const {
  const Shape& s = inputs[0].shape;
  return (a_.mode == "nearest" ? 0.0 : 6.0) * double(s[1]) * double(a_.height * a_.width);
}

void Resize::forward(const ForwardCall& call) const {
  const Tensor& xt = call.inputs[0];
  const Tensor& yt = call.outputs[0];
  const std::int64_t planes = xt.dim(0) * xt.dim(1), h = xt.dim(2), w = xt.dim(3);
  const std::int64_t oh = yt.dim(2), ow = yt.dim(3);
  const bool nearest = a_.mode == "nearest";
  const AxisTaps ty = taps(h, oh, nearest), tx = taps(w, ow, nearest);
  const float* x = xt.data<float>();
  float* y = yt.data<float>();
#pragma omp parallel for schedule(static) if (planes * oh * ow > kParallelWork)
  for (std::int64_t p = 0; p < planes; ++p) {
    const float* xp = x + p * h * w;
    float* yp = y + p * oh * ow;
    for (std::int64_t i = 0; i < oh; ++i) {
      const float* r0 = xp + ty.lo[i] * w;
      const float* r1 = xp + ty.hi[i] * w;
      const float fy = ty.f[i];
      for (std::int64_t j = 0; j < ow; ++j) {
        const float fx = tx.f[j];
        const float top = r0[tx.lo[j]] * (1 - fx) + r0[tx.hi[j]] * fx;
        const float bottom = r1[tx.lo[j]] * (1 - fx) + r1[tx.hi[j]] * fx;
        yp[i * ow + j] = top * (1 - fy) + bottom * fy;
      }
    }
  }
}

void Resize::backward(const BackwardCall& call) const {
  const Tensor& dxt = call.grad_inputs[0];
  if (!dxt.defined()) return;
  const Tensor& dyt = call.grad_outputs[0];
  const std::int64_t planes = dxt.dim(0) * dxt.dim(1), h = dxt.dim(2), w = dxt.dim(3);
  const std::int64_t oh = dyt.dim(2), ow = dyt.dim(3);
  const bool nearest = a_.mode == "nearest";
  const AxisTaps ty = taps(h, oh, nearest), tx = taps(w, ow, nearest);
  const float* dy = dyt.data<float>();
  float* dx = dxt.data<float>();
#pragma omp parallel for schedule(static) if (planes * oh * ow > kParallelWork)
  for (std::int64_t p = 0; p < planes; ++p) {
    float* gp = dx + p * h * w;
    const float* dp = dy + p * oh * ow;
    std::fill(gp, gp + h * w, 0.0f);
    for (std::int64_t i = 0; i < oh; ++i) {
      float* r0 = gp + ty.lo[i] * w;
      float* r1 = gp + ty.hi[i] * w;
      const float fy = ty.f[i];
      for (std::int64_t j = 0; j < ow; ++j) {
        const float g = dp[i * ow + j], fx = tx.f[j];
        r0[tx.lo[j]] += g * (1 - fy) * (1 - fx);
        r0[tx.hi[j]] += g * (1 - fy) * fx;
        r1[tx.lo[j]] += g * fy * (1 - fx);
        r1[tx.hi[j]] += g * fy * fx;
      }
    }
  }
}

std::shared_ptr<const Op> make_resize(const Attrs& attrs) {
  return std::make_shared<Resize>(ResizeAttrs{.height = attrs.get_int("height", 0),
                                              .width = attrs.get_int("width", 0),
                                              .mode = attrs.get_string("mode", "bilinear")});
}

}  // namespace convkit::ops
