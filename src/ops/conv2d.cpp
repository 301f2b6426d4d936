// Conv2D reference kernel: direct loops over x [N, C, H, W] and weight [F, C/groups, KH, KW]
// giving y [N, F, OH, OW] (G = groups, Cg = C/G input channels and Fg = F/G filters per group).
// Forward runs one (n, f) output plane per OpenMP iteration; backward runs one plane of dx per
// (n, c), one filter of dW per (f, c) and one dB entry per f, so every sum has a fixed order and
// results do not depend on the thread count.
#include "ops/conv2d.h"

#include <algorithm>
#include <cstring>

namespace convkit::ops {

namespace {

// Loops with less work than this run on one thread (forking costs more than it saves).
constexpr std::int64_t kParallelWork = 32768;

// [lo, hi): the output positions o whose input position o * stride + offset lies in [0, in).
std::array<std::int64_t, 2> valid_range(std::int64_t out, std::int64_t in, std::int64_t stride,
                                        std::int64_t offset) {
  const std::int64_t lo = offset >= 0 ? 0 : (-offset + stride - 1) / stride;
  const std::int64_t last = in - 1 - offset;  // o * stride <= last
  const std::int64_t hi = last < 0 ? 0 : std::min(out, last / stride + 1);
  return {std::min(lo, hi), hi};
}

// A (height, width) attribute given as one integer, [v] or [h, w].
std::array<std::int64_t, 2> pair_attr(const Attrs& attrs, std::string_view name,
                                      std::array<std::int64_t, 2> fallback) {
  for (const auto& [key, value] : attrs.items()) {
    if (key != name) continue;
    if (auto* i = std::get_if<std::int64_t>(&value)) return {*i, *i};
    if (auto* v = std::get_if<std::vector<std::int64_t>>(&value)) {
      if (v->size() == 1) return {(*v)[0], (*v)[0]};
      if (v->size() == 2) return {(*v)[0], (*v)[1]};
    }
    fail("Conv2D attribute '{}' must be an integer or a list of 2 integers, got {}", name,
         to_string(value));
  }
  return fallback;
}

std::vector<std::int64_t> vec(std::array<std::int64_t, 2> a) {
  return {a[0], a[1]};
}

// Output size of one dim, with the op, input shape and dim name added to the message.
std::int64_t output_size(const Shape& in, std::string_view dim, std::int64_t size,
                         std::int64_t kernel, std::int64_t stride, std::int64_t dilation,
                         std::array<std::int64_t, 2> pads) {
  try {
    return window_output_size(size, kernel, stride, dilation, pads[0], pads[1]);
  } catch (const ShapeError& e) {
    shape_fail("Conv2D on input {}: {} {}", in.str(), dim, e.what());
  }
}

}  // namespace

std::string_view name_of(Padding p) {
  switch (p) {
    case Padding::Valid:
      return "valid";
    case Padding::Same:
      return "same";
    case Padding::Explicit:
      return "explicit";
  }
  return "?";
}

Padding padding_from_name(std::string_view name) {
  if (name == "valid") return Padding::Valid;
  if (name == "same") return Padding::Same;
  if (name == "explicit") return Padding::Explicit;
  fail("unknown padding '{}' (expected valid, same or explicit)", name);
}

std::array<std::int64_t, 2> resolve_pads_1d(Padding mode, std::int64_t in, std::int64_t kernel,
                                            std::int64_t stride, std::int64_t dilation,
                                            std::int64_t explicit_before,
                                            std::int64_t explicit_after) {
  switch (mode) {
    case Padding::Valid:
      return {0, 0};
    case Padding::Explicit:
      return {explicit_before, explicit_after};
    case Padding::Same: {
      const std::int64_t extent = (kernel - 1) * dilation + 1;
      const std::int64_t out = (in + stride - 1) / stride;
      const std::int64_t total = std::max<std::int64_t>(0, (out - 1) * stride + extent - in);
      return {total / 2, total - total / 2};  // the odd pixel goes after (SAME_UPPER)
    }
  }
  return {0, 0};
}

std::int64_t window_output_size(std::int64_t in, std::int64_t kernel, std::int64_t stride,
                                std::int64_t dilation, std::int64_t pad_before,
                                std::int64_t pad_after) {
  if (kernel < 1 || stride < 1 || dilation < 1)
    shape_fail("window with kernel {}, stride {}, dilation {}: all must be >= 1", kernel, stride,
               dilation);
  const std::int64_t extent = (kernel - 1) * dilation + 1;
  const std::int64_t padded = in + pad_before + pad_after;
  if (padded < extent)
    shape_fail(
        "window of extent {} (kernel {}, dilation {}) does not fit the padded size {} "
        "(input {} + pads {} + {})",
        extent, kernel, dilation, padded, in, pad_before, pad_after);
  return (padded - extent) / stride + 1;
}

Conv2D::Conv2D(Conv2DAttrs attrs) : a_(attrs) {
  expect_fusable("Conv2D", a_.activation);
  if (a_.filters <= 0) fail("Conv2D attribute 'filters' must be > 0, got {}", a_.filters);
  if (a_.kernel[0] < 1 || a_.kernel[1] < 1)
    fail("Conv2D attribute 'kernel' must be >= 1, got [{}, {}]", a_.kernel[0], a_.kernel[1]);
  if (a_.stride[0] < 1 || a_.stride[1] < 1)
    fail("Conv2D attribute 'stride' must be >= 1, got [{}, {}]", a_.stride[0], a_.stride[1]);
  if (a_.dilation[0] < 1 || a_.dilation[1] < 1)
    fail("Conv2D attribute 'dilation' must be >= 1, got [{}, {}]", a_.dilation[0], a_.dilation[1]);
  if (a_.groups < 1) fail("Conv2D attribute 'groups' must be >= 1, got {}", a_.groups);
  if (a_.filters % a_.groups != 0)
    fail("Conv2D attribute 'groups' ({}) must divide filters ({})", a_.groups, a_.filters);
  if (a_.padding == Padding::Explicit)
    for (auto p : a_.pads)
      if (p < 0)
        fail("Conv2D attribute 'pads' must be >= 0, got [{}, {}, {}, {}]", a_.pads[0], a_.pads[1],
             a_.pads[2], a_.pads[3]);
}

Pads Conv2D::resolved_pads(std::int64_t h, std::int64_t w) const {
  auto ph = resolve_pads_1d(a_.padding, h, a_.kernel[0], a_.stride[0], a_.dilation[0], a_.pads[0],
                            a_.pads[2]);
  auto pw = resolve_pads_1d(a_.padding, w, a_.kernel[1], a_.stride[1], a_.dilation[1], a_.pads[1],
                            a_.pads[3]);
  return {ph[0], pw[0], ph[1], pw[1]};
}

Attrs Conv2D::attrs() const {
  Attrs at{{"filters", a_.filters},
           {"kernel", vec(a_.kernel)},
           {"stride", vec(a_.stride)},
           {"dilation", vec(a_.dilation)},
           {"padding", std::string(name_of(a_.padding))}};
  if (a_.padding == Padding::Explicit)
    at.set("pads", std::vector<std::int64_t>(a_.pads.begin(), a_.pads.end()));
  at.set("groups", a_.groups);
  at.set("bias", a_.bias);
  at.set("activation", std::string(name_of(a_.activation)));
  return at;
}

std::vector<TensorSpec> Conv2D::infer(std::span<const TensorSpec> inputs) const {
  expect_inputs("Conv2D", inputs, 1);
  expect_rank("Conv2D", inputs[0], 4, "[N, C, H, W]");
  const Shape& s = inputs[0].shape;
  if (inputs[0].dtype != DType::f32)
    shape_fail("Conv2D expects an f32 input, got {}", name_of(inputs[0].dtype));
  if (s[1] % a_.groups != 0)
    shape_fail("Conv2D with groups={} needs input channels divisible by {}, got C={} (input {})",
               a_.groups, a_.groups, s[1], s.str());
  const Pads p = resolved_pads(s[2], s[3]);
  const std::int64_t oh =
      output_size(s, "height", s[2], a_.kernel[0], a_.stride[0], a_.dilation[0], {p[0], p[2]});
  const std::int64_t ow =
      output_size(s, "width", s[3], a_.kernel[1], a_.stride[1], a_.dilation[1], {p[1], p[3]});
  return {{Shape{s[0], a_.filters, oh, ow}, DType::f32}};
}

std::vector<ParamSpec> Conv2D::params(std::span<const TensorSpec> inputs) const {
  const std::int64_t cg = inputs[0].shape[1] / a_.groups;
  const std::int64_t window = a_.kernel[0] * a_.kernel[1];
  const std::int64_t fan_in = cg * window, fan_out = a_.filters / a_.groups * window;
  std::vector<ParamSpec> specs{{.name = "weight",
                                .shape = Shape{a_.filters, cg, a_.kernel[0], a_.kernel[1]},
                                .init = {InitKind::TorchUniform},
                                .fan_in = fan_in,
                                .fan_out = fan_out}};
  if (a_.bias)
    specs.push_back({.name = "bias",
                     .shape = Shape{a_.filters},
                     .init = {InitKind::TorchUniform},
                     .fan_in = fan_in,
                     .fan_out = fan_out,
                     .decay = false});
  return specs;
}

BackwardNeeds Conv2D::backward_needs() const {
  return {.inputs = true, .outputs = a_.activation != FusedActivation::None};
}

double Conv2D::flops(std::span<const TensorSpec> inputs) const {
  const Shape y = infer(inputs)[0].shape;
  const double cg = double(inputs[0].shape[1] / a_.groups);
  return 2.0 * double(y.numel()) * cg * double(a_.kernel[0] * a_.kernel[1]);
}

namespace {

// The sizes every loop needs, read once from the tensors.
struct Dims {
  std::int64_t n, c, h, w, f, oh, ow, cg, fg, kh, kw, sh, sw, dh, dw, pt, pl;
  bool parallel() const { return n * f * oh * ow * cg * kh * kw > kParallelWork; }
};

Dims dims_of(const Conv2D& op, const Tensor& x, const Tensor& y) {
  const auto& a = op.conv_attrs();
  const Pads p = op.resolved_pads(x.dim(2), x.dim(3));
  return {x.dim(0),
          x.dim(1),
          x.dim(2),
          x.dim(3),
          y.dim(1),
          y.dim(2),
          y.dim(3),
          x.dim(1) / a.groups,
          y.dim(1) / a.groups,
          a.kernel[0],
          a.kernel[1],
          a.stride[0],
          a.stride[1],
          a.dilation[0],
          a.dilation[1],
          p[0],
          p[1]};
}

}  // namespace

void Conv2D::forward(const ForwardCall& call) const {
  const Tensor& xt = call.inputs[0];
  const Tensor& yt = call.outputs[0];
  const Dims d = dims_of(*this, xt, yt);
  const float* x = xt.data<float>();
  const float* w = call.params[0].data<float>();
  const float* b = a_.bias ? call.params[1].data<float>() : nullptr;
  float* y = yt.data<float>();
  const FusedActivation act = a_.activation;
  const std::int64_t plane = d.oh * d.ow;
  const bool parallel = d.parallel();

#pragma omp parallel for schedule(static) if (parallel)
  for (std::int64_t nf = 0; nf < d.n * d.f; ++nf) {
    const std::int64_t n = nf / d.f, f = nf % d.f, g = f / d.fg;
    float* yp = y + nf * plane;
    std::fill(yp, yp + plane, b ? b[f] : 0.0f);
    for (std::int64_t c = 0; c < d.cg; ++c) {
      const float* xp = x + (n * d.c + g * d.cg + c) * d.h * d.w;
      const float* wp = w + (f * d.cg + c) * d.kh * d.kw;
      for (std::int64_t i = 0; i < d.kh; ++i)
        for (std::int64_t j = 0; j < d.kw; ++j) {
          const float wv = wp[i * d.kw + j];
          const std::int64_t off_w = j * d.dw - d.pl;
          const auto [lo, hi] = valid_range(d.ow, d.w, d.sw, off_w);
          for (std::int64_t oh = 0; oh < d.oh; ++oh) {
            const std::int64_t ih = oh * d.sh - d.pt + i * d.dh;
            if (ih < 0 || ih >= d.h) continue;
            const float* xr = xp + ih * d.w;
            float* yr = yp + oh * d.ow;
            for (std::int64_t ow = lo; ow < hi; ++ow) yr[ow] += wv * xr[ow * d.sw + off_w];
          }
        }
    }
    if (act != FusedActivation::None)
      for (std::int64_t k = 0; k < plane; ++k) yp[k] = apply_fused(act, yp[k]);
  }
}

void Conv2D::backward(const BackwardCall& call) const {
  const Tensor& xt = call.inputs[0];
  const Tensor& dyt = call.grad_outputs[0];
  const Dims d = dims_of(*this, xt, dyt);
  const float* x = xt.data<float>();
  const float* w = call.params[0].data<float>();
  const float* dy = dyt.data<float>();
  // NOTE: with a fused activation the gradient is fused_grad(y, dy), computed on the fly (no
  // temporary) through this lambda.
  const FusedActivation act = a_.activation;
  const float* y = act != FusedActivation::None ? call.outputs[0].data<float>() : nullptr;
  auto grad = [dy, y, act](std::int64_t k) { return y ? fused_grad(act, y[k], dy[k]) : dy[k]; };
  const std::int64_t plane = d.oh * d.ow;
  const bool parallel = d.parallel();

  if (a_.bias && call.grad_params.size() > 1 && call.grad_params[1].defined()) {
    float* db = call.grad_params[1].data<float>();
#pragma omp parallel for schedule(static) if (parallel)
    for (std::int64_t f = 0; f < d.f; ++f) {
      double s = 0;
      for (std::int64_t n = 0; n < d.n; ++n)
        for (std::int64_t k = 0; k < plane; ++k) s += grad((n * d.f + f) * plane + k);
      db[f] = float(s);
    }
  }

  if (!call.grad_params.empty() && call.grad_params[0].defined()) {
    float* dw = call.grad_params[0].data<float>();
#pragma omp parallel for schedule(static) if (parallel)
    for (std::int64_t fc = 0; fc < d.f * d.cg; ++fc) {
      const std::int64_t f = fc / d.cg, c = fc % d.cg, g = f / d.fg;
      for (std::int64_t i = 0; i < d.kh; ++i)
        for (std::int64_t j = 0; j < d.kw; ++j) {
          const std::int64_t off_w = j * d.dw - d.pl;
          const auto [lo, hi] = valid_range(d.ow, d.w, d.sw, off_w);
          double s = 0;
          for (std::int64_t n = 0; n < d.n; ++n) {
            const float* xp = x + (n * d.c + g * d.cg + c) * d.h * d.w;
            const std::int64_t gp = (n * d.f + f) * plane;
            for (std::int64_t oh = 0; oh < d.oh; ++oh) {
              const std::int64_t ih = oh * d.sh - d.pt + i * d.dh;
              if (ih < 0 || ih >= d.h) continue;
              const float* xr = xp + ih * d.w;
              for (std::int64_t ow = lo; ow < hi; ++ow)
                s += double(grad(gp + oh * d.ow + ow)) * double(xr[ow * d.sw + off_w]);
            }
          }
          dw[fc * d.kh * d.kw + i * d.kw + j] = float(s);
        }
    }
  }

  if (!call.grad_inputs.empty() && call.grad_inputs[0].defined()) {
    float* dx = call.grad_inputs[0].data<float>();
#pragma omp parallel for schedule(static) if (parallel)
    for (std::int64_t nc = 0; nc < d.n * d.c; ++nc) {
      const std::int64_t n = nc / d.c, cin = nc % d.c, g = cin / d.cg, c = cin % d.cg;
      float* dxp = dx + nc * d.h * d.w;
      std::fill(dxp, dxp + d.h * d.w, 0.0f);
      for (std::int64_t f = g * d.fg; f < (g + 1) * d.fg; ++f) {
        const float* wp = w + (f * d.cg + c) * d.kh * d.kw;
        const std::int64_t gp = (n * d.f + f) * plane;
        for (std::int64_t i = 0; i < d.kh; ++i)
          for (std::int64_t j = 0; j < d.kw; ++j) {
            const float wv = wp[i * d.kw + j];
            const std::int64_t off_w = j * d.dw - d.pl;
            const auto [lo, hi] = valid_range(d.ow, d.w, d.sw, off_w);
            for (std::int64_t oh = 0; oh < d.oh; ++oh) {
              const std::int64_t ih = oh * d.sh - d.pt + i * d.dh;
              if (ih < 0 || ih >= d.h) continue;
              float* dxr = dxp + ih * d.w;
              for (std::int64_t ow = lo; ow < hi; ++ow)
                dxr[ow * d.sw + off_w] += wv * grad(gp + oh * d.ow + ow);
            }
          }
      }
    }
  }
}

std::shared_ptr<const Op> make_conv2d(const Attrs& attrs) {
  Conv2DAttrs a;
  a.filters = attrs.get_int("filters", 0);
  a.kernel = pair_attr(attrs, "kernel", a.kernel);
  a.stride = pair_attr(attrs, "stride", a.stride);
  a.dilation = pair_attr(attrs, "dilation", a.dilation);
  // Pads without a padding mode mean explicit padding (as ONNX writes it).
  a.padding =
      padding_from_name(attrs.get_string("padding", attrs.has("pads") ? "explicit" : "valid"));
  if (attrs.has("pads")) {
    auto p = attrs.get_ints("pads", {});
    if (p.size() != 4)
      fail("Conv2D attribute 'pads' must list 4 values [top, left, bottom, right], got {}",
           to_string(p));
    if (a.padding != Padding::Explicit &&
        std::any_of(p.begin(), p.end(), [](auto v) { return v != 0; }))
      fail("Conv2D attribute 'pads' {} needs padding=explicit, got padding={}", to_string(p),
           name_of(a.padding));
    std::copy(p.begin(), p.end(), a.pads.begin());
  }
  a.groups = attrs.get_int("groups", 1);
  a.bias = attrs.get_bool("bias", true);
  a.activation = fused_activation_from_name(attrs.get_string("activation", "none"));
  return std::make_shared<Conv2D>(a);
}

}  // namespace convkit::ops
