// MaxPool2D / AvgPool2D reference kernels over x [N, C, H, W] -> y [N, C, OH, OW], one (n, c)
// plane per OpenMP iteration (forward and backward), so results do not depend on threads.
// Max backward recomputes each window's argmax from the input: the first maximal element in
// row-major window order gets the gradient (PyTorch's rule; a NaN wins and propagates). A fused
// activation applies to the max; its derivative (from y) to dy before the scatter.
#include "ops/pool2d.h"

#include <algorithm>
#include <cmath>

namespace convkit::ops {

namespace {

// Loops with less work than this run on one thread (forking costs more than it saves).
constexpr std::int64_t kParallelWork = 32768;

// A (height, width) attribute given as one integer, [v] or [h, w].
std::array<std::int64_t, 2> pair_attr(std::string_view op, const Attrs& attrs,
                                      std::string_view name, std::array<std::int64_t, 2> fallback) {
  for (const auto& [key, value] : attrs.items()) {
    if (key != name) continue;
    if (auto* i = std::get_if<std::int64_t>(&value)) return {*i, *i};
    if (auto* v = std::get_if<std::vector<std::int64_t>>(&value)) {
      if (v->size() == 1) return {(*v)[0], (*v)[0]};
      if (v->size() == 2) return {(*v)[0], (*v)[1]};
    }
    fail("{} attribute '{}' must be an integer or a list of 2 integers, got {}", op, name,
         to_string(value));
  }
  return fallback;
}

// One window: rows [h0, h1) and columns [w0, w1) of the input, clipped to it.
struct Window {
  std::int64_t h0, h1, w0, w1;
};

}  // namespace

Pool2D::Pool2D(PoolKind kind, Pool2DAttrs attrs) : kind_(kind), a_(attrs) {
  const std::string_view op = type();
  expect_fusable(op, a_.activation);
  if (a_.kernel[0] < 1 || a_.kernel[1] < 1)
    fail("{} attribute 'kernel' must be >= 1, got [{}, {}]", op, a_.kernel[0], a_.kernel[1]);
  if (a_.stride[0] < 0 || a_.stride[1] < 0)
    fail("{} attribute 'stride' must be >= 1 (or 0 for the kernel size), got [{}, {}]", op,
         a_.stride[0], a_.stride[1]);
  for (int i = 0; i < 2; ++i)
    if (a_.stride[i] == 0) a_.stride[i] = a_.kernel[i];
  // NOTE: pads below the kernel size guarantee every window holds at least one input cell.
  if (a_.padding == Padding::Explicit)
    for (int i = 0; i < 4; ++i)
      if (a_.pads[i] < 0 || a_.pads[i] >= a_.kernel[i % 2])
        fail(
            "{} attribute 'pads' [{}, {}, {}, {}] must be >= 0 and smaller than the kernel [{}, "
            "{}]",
            op, a_.pads[0], a_.pads[1], a_.pads[2], a_.pads[3], a_.kernel[0], a_.kernel[1]);
}

Pads Pool2D::resolved_pads(std::int64_t h, std::int64_t w) const {
  auto ph = resolve_pads_1d(a_.padding, h, a_.kernel[0], a_.stride[0], 1, a_.pads[0], a_.pads[2]);
  auto pw = resolve_pads_1d(a_.padding, w, a_.kernel[1], a_.stride[1], 1, a_.pads[1], a_.pads[3]);
  return {ph[0], pw[0], ph[1], pw[1]};
}

Attrs Pool2D::attrs() const {
  Attrs at{{"kernel", std::vector<std::int64_t>{a_.kernel[0], a_.kernel[1]}},
           {"stride", std::vector<std::int64_t>{a_.stride[0], a_.stride[1]}},
           {"padding", std::string(name_of(a_.padding))}};
  if (a_.padding == Padding::Explicit)
    at.set("pads", std::vector<std::int64_t>(a_.pads.begin(), a_.pads.end()));
  if (kind_ == PoolKind::Avg) at.set("count_include_pad", a_.count_include_pad);
  if (a_.activation != FusedActivation::None)
    at.set("activation", std::string(name_of(a_.activation)));
  return at;
}

std::vector<TensorSpec> Pool2D::infer(std::span<const TensorSpec> inputs) const {
  const std::string_view op = type();
  expect_inputs(op, inputs, 1);
  expect_rank(op, inputs[0], 4, "[N, C, H, W]");
  if (inputs[0].dtype != DType::f32)
    shape_fail("{} expects an f32 input, got {}", op, name_of(inputs[0].dtype));
  const Shape& s = inputs[0].shape;
  const Pads p = resolved_pads(s[2], s[3]);
  std::array<std::int64_t, 2> out{};
  for (int i = 0; i < 2; ++i) {
    try {
      out[i] = window_output_size(s[2 + i], a_.kernel[i], a_.stride[i], 1, p[i], p[i + 2]);
    } catch (const ShapeError& e) {
      shape_fail("{} on input {}: {} {}", op, s.str(), i == 0 ? "height" : "width", e.what());
    }
  }
  return {{Shape{s[0], s[1], out[0], out[1]}, DType::f32}};
}

BackwardNeeds Pool2D::backward_needs() const {
  return {.inputs = kind_ == PoolKind::Max, .outputs = a_.activation != FusedActivation::None};
}

double Pool2D::flops(std::span<const TensorSpec> inputs) const {
  return double(infer(inputs)[0].shape.numel()) * double(a_.kernel[0] * a_.kernel[1]);
}

namespace {

// Shared geometry of one call: sizes and the window of each output cell.
struct Geometry {
  std::int64_t planes, h, w, oh, ow, kh, kw, sh, sw, pt, pl;
  bool parallel() const { return planes * oh * ow * kh * kw > kParallelWork; }
  Window window(std::int64_t i, std::int64_t j) const {
    const std::int64_t hs = i * sh - pt, ws = j * sw - pl;
    return {std::max<std::int64_t>(hs, 0), std::min(hs + kh, h), std::max<std::int64_t>(ws, 0),
            std::min(ws + kw, w)};
  }
};

Geometry geometry_of(const Pool2D& op, const Tensor& x, const Tensor& y) {
  const auto& a = op.pool_attrs();
  const Pads p = op.resolved_pads(x.dim(2), x.dim(3));
  return {x.dim(0) * x.dim(1), x.dim(2),    x.dim(3),    y.dim(2), y.dim(3), a.kernel[0],
          a.kernel[1],         a.stride[0], a.stride[1], p[0],     p[1]};
}

// Index (within the plane) of the first maximal element of the window.
std::int64_t argmax(const float* xp, std::int64_t w, const Window& win) {
  std::int64_t best = win.h0 * w + win.w0;
  for (std::int64_t r = win.h0; r < win.h1; ++r)
    for (std::int64_t c = win.w0; c < win.w1; ++c) {
      const float v = xp[r * w + c], m = xp[best];
      if (v > m || (std::isnan(v) && !std::isnan(m))) best = r * w + c;
    }
  return best;
}

// Divisor of an average window: all kernel cells, or only those inside the input.
float avg_divisor(const Geometry& g, const Window& win, bool count_include_pad) {
  return count_include_pad ? float(g.kh * g.kw) : float((win.h1 - win.h0) * (win.w1 - win.w0));
}

}  // namespace

void Pool2D::forward(const ForwardCall& call) const {
  const Geometry g = geometry_of(*this, call.inputs[0], call.outputs[0]);
  const float* x = call.inputs[0].data<float>();
  float* y = call.outputs[0].data<float>();
#pragma omp parallel for schedule(static) if (g.parallel())
  for (std::int64_t p = 0; p < g.planes; ++p) {
    const float* xp = x + p * g.h * g.w;
    float* yp = y + p * g.oh * g.ow;
    for (std::int64_t i = 0; i < g.oh; ++i)
      for (std::int64_t j = 0; j < g.ow; ++j) {
        const Window win = g.window(i, j);
        if (kind_ == PoolKind::Max) {
          yp[i * g.ow + j] = apply_fused(a_.activation, xp[argmax(xp, g.w, win)]);
          continue;
        }
        float s = 0.0f;
        for (std::int64_t r = win.h0; r < win.h1; ++r)
          for (std::int64_t c = win.w0; c < win.w1; ++c) s += xp[r * g.w + c];
        yp[i * g.ow + j] = s / avg_divisor(g, win, a_.count_include_pad);
      }
  }
}

void Pool2D::backward(const BackwardCall& call) const {
  if (call.grad_inputs.empty() || !call.grad_inputs[0].defined()) return;
  const Tensor& dxt = call.grad_inputs[0];
  const Geometry g = geometry_of(*this, dxt, call.grad_outputs[0]);
  const float* x = kind_ == PoolKind::Max ? call.inputs[0].data<float>() : nullptr;
  const float* dy = call.grad_outputs[0].data<float>();
  const float* y = a_.activation != FusedActivation::None ? call.outputs[0].data<float>() : nullptr;
  float* dx = dxt.data<float>();
#pragma omp parallel for schedule(static) if (g.parallel())
  for (std::int64_t p = 0; p < g.planes; ++p) {
    float* dxp = dx + p * g.h * g.w;
    std::fill(dxp, dxp + g.h * g.w, 0.0f);
    for (std::int64_t i = 0; i < g.oh; ++i)
      for (std::int64_t j = 0; j < g.ow; ++j) {
        const Window win = g.window(i, j);
        const std::int64_t k = p * g.oh * g.ow + i * g.ow + j;
        const float d = y ? fused_grad(a_.activation, y[k], dy[k]) : dy[k];
        if (kind_ == PoolKind::Max) {
          dxp[argmax(x + p * g.h * g.w, g.w, win)] += d;
          continue;
        }
        const float share = d / avg_divisor(g, win, a_.count_include_pad);
        for (std::int64_t r = win.h0; r < win.h1; ++r)
          for (std::int64_t c = win.w0; c < win.w1; ++c) dxp[r * g.w + c] += share;
      }
  }
}

namespace {

std::shared_ptr<const Op> make_pool(PoolKind kind, std::string_view op, const Attrs& attrs) {
  Pool2DAttrs a;
  a.kernel = pair_attr(op, attrs, "kernel", a.kernel);
  a.stride = pair_attr(op, attrs, "stride", a.stride);
  a.padding =
      padding_from_name(attrs.get_string("padding", attrs.has("pads") ? "explicit" : "valid"));
  if (attrs.has("pads")) {
    auto p = attrs.get_ints("pads", {});
    if (p.size() != 4)
      fail("{} attribute 'pads' must list 4 values [top, left, bottom, right], got {}", op,
           to_string(p));
    if (a.padding != Padding::Explicit &&
        std::any_of(p.begin(), p.end(), [](auto v) { return v != 0; }))
      fail("{} attribute 'pads' {} needs padding=explicit, got padding={}", op, to_string(p),
           name_of(a.padding));
    std::copy(p.begin(), p.end(), a.pads.begin());
  }
  if (kind == PoolKind::Avg) a.count_include_pad = attrs.get_bool("count_include_pad", false);
  a.activation = fused_activation_from_name(attrs.get_string("activation", "none"));
  if (kind == PoolKind::Avg && a.activation != FusedActivation::None)
    fail("{} attribute 'activation' applies to max pooling only, got '{}'", op,
         name_of(a.activation));
  return std::make_shared<Pool2D>(kind, a);
}

}  // namespace

std::shared_ptr<const Op> make_max_pool2d(const Attrs& attrs) {
  return make_pool(PoolKind::Max, "MaxPool2D", attrs);
}

std::shared_ptr<const Op> make_avg_pool2d(const Attrs& attrs) {
  return make_pool(PoolKind::Avg, "AvgPool2D", attrs);
}

}  // namespace convkit::ops
