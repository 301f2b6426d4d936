// Conv2D inference on images with few channels (C <= 4: a grayscale or RGB first layer), stride
// 1, no dilation, one group, small calls (batch-1 serving): a direct convolution. x is copied
// zero-padded into scratch; each output plane accumulates in scratch at the padded row width, so
// that every kernel tap is one long contiguous multiply-add over the plane (rows as short as 26
// would leave most of each vector idle), and the valid columns are copied out at the end. Bias
// is the accumulator's start; a fused activation runs as a oneDNN eltwise primitive on y.
// NOTE: on such layers oneDNN 2.6 spends most of a batch-1 call outside the arithmetic (LeNet's
// 1->6 5x5 conv: 16 us in brgconv plus three reorders, for 0.24 MFLOP); see DirectTiming in
// tests/backend/cpu/conv2d_kernel_test.cpp. Larger calls go to oneDNN, whose blocked kernels win
// once there is enough work to amortize the reorders.
//
// Accumulation order per output element: bias, then channels, kernel rows and columns in order
// (as the reference, except that taps over the zero padding add w * 0 where the reference skips
// them: the same sums for finite weights);
// one plane per OpenMP iteration, so results do not depend on the thread count. The plane loop
// is compiled for AVX-512, AVX2 and the baseline, picked at load time (target_clones).
#include <convkit/tensor/arena.h>

#include "backend/cpu/kernels.h"
#include "backend/cpu/onednn_common.h"
#include "ops/conv2d.h"

#include <algorithm>
#include <cstring>
#include <optional>

namespace convkit::backend::cpu {

namespace {

// Calls with more multiply-adds than this go to oneDNN (measured crossover: see DirectTiming).
constexpr std::int64_t kMaxMacs = 1 << 20;
constexpr std::int64_t kMaxChannels = 4;

struct Geometry {
  std::int64_t n, c, f, oh, ow, kh, kw;
  std::int64_t h, w, pt, pl;  // input plane and its top/left padding
  std::int64_t hp, wp;        // padded input plane
  // Floats per padded channel plane: the taps of the last rows read up to kw - 1 past it.
  std::int64_t in_stride() const { return hp * wp + kw - 1; }
  std::int64_t acc_size() const { return oh * wp; }  // one plane's accumulator
  std::size_t x_bytes() const;  // the padded copy of x, with slack for the last chunk
};

// One output plane: acc = bias + sum over channels and taps of w * x at the padded width, then
// the valid columns to y. The plane is walked in chunks of kChunk accumulators held in registers
// across all taps (one load and one FMA per vector per tap; the last chunk reads up to kChunk
// floats past the plane, into the slack x_bytes() leaves, and stores only what is inside).
constexpr std::int64_t kChunk = 128;

[[gnu::target_clones("avx512f", "avx2", "default")]] void conv_plane(const float* xn,
                                                                     const float* wf, float bias,
                                                                     float* acc, float* y,
                                                                     const Geometry& g) {
  const std::int64_t m = g.acc_size();
  for (std::int64_t k0 = 0; k0 < m; k0 += kChunk) {
    float a[kChunk];
    for (std::int64_t v = 0; v < kChunk; ++v) a[v] = bias;
    for (std::int64_t c = 0; c < g.c; ++c)
      for (std::int64_t i = 0; i < g.kh; ++i)
        for (std::int64_t j = 0; j < g.kw; ++j) {
          const float wv = wf[(c * g.kh + i) * g.kw + j];
          const float* src = xn + c * g.in_stride() + i * g.wp + j + k0;
#pragma omp simd
          for (std::int64_t v = 0; v < kChunk; ++v) a[v] += wv * src[v];
        }
    std::memcpy(acc + k0, a, std::size_t(std::min(kChunk, m - k0)) * sizeof(float));
  }
  for (std::int64_t r = 0; r < g.oh; ++r)
    std::memcpy(y + r * g.ow, acc + r * g.wp, std::size_t(g.ow) * sizeof(float));
}

std::size_t Geometry::x_bytes() const {
  return align_up(std::size_t(n * c * in_stride() + kChunk) * sizeof(float));
}

class Conv2DDirectKernel final : public Kernel {
 public:
  Conv2DDirectKernel(const ops::Conv2DAttrs& a, const Geometry& g, const Shape& y);
  std::string_view name() const override { return "direct"; }
  std::vector<TensorSpec> saved() const override { return {}; }
  // Scratch: padded x | accumulators | the activation's scratch, each start aligned.
  std::size_t acc_bytes() const {
    return align_up(std::size_t(g_.n * g_.f * g_.acc_size()) * sizeof(float));
  }
  std::size_t scratch_bytes() const override {
    return g_.x_bytes() + acc_bytes() + act_.scratch_bytes();
  }
  void forward(const ForwardCall& call) override;
  void backward(const BackwardCall&) override { fail("Conv2D direct kernel: inference only"); }

 private:
  bool bias_;
  Geometry g_;
  Program act_;  // the fused activation in place on y, if any
  Program::Slot act_y_ = -1;
};

Conv2DDirectKernel::Conv2DDirectKernel(const ops::Conv2DAttrs& a, const Geometry& g, const Shape& y)
    : bias_(a.bias), g_(g) {
  if (a.activation == ops::FusedActivation::None) return;
  const memory::desc md = plain_desc(y);
  act_y_ = act_.external(md);
  act_.add(eltwise_forward_pd(a.activation, md), {{DNNL_ARG_SRC, act_y_}, {DNNL_ARG_DST, act_y_}});
}

void Conv2DDirectKernel::forward(const ForwardCall& call) {
  const Geometry& g = g_;
  if (call.scratch.size() < scratch_bytes())
    fail("Conv2D direct kernel: needs {} bytes of scratch, the call gave {}", scratch_bytes(),
         call.scratch.size());
  auto* xp = reinterpret_cast<float*>(call.scratch.data());
  float* acc = xp + g.x_bytes() / sizeof(float);
  const float* x = call.inputs[0].data<float>();
  std::fill(xp, acc, 0.0f);  // zero padding (and the slack after each plane)
  for (std::int64_t p = 0; p < g.n * g.c; ++p)
    for (std::int64_t r = 0; r < g.h; ++r)
      std::memcpy(xp + p * g.in_stride() + (r + g.pt) * g.wp + g.pl, x + (p * g.h + r) * g.w,
                  std::size_t(g.w) * sizeof(float));
  const float* w = call.params[0].data<float>();
  const float* b = bias_ ? call.params[1].data<float>() : nullptr;
  float* y = call.outputs[0].data<float>();
  const std::int64_t planes = g.n * g.f;
  const bool parallel = planes * g.acc_size() * g.c * g.kh * g.kw > (1 << 17);
#pragma omp parallel for schedule(static) if (parallel)
  for (std::int64_t p = 0; p < planes; ++p) {
    const std::int64_t n = p / g.f, f = p % g.f;
    conv_plane(xp + n * g.c * g.in_stride(), w + f * g.c * g.kh * g.kw, b ? b[f] : 0.0f,
               acc + p * g.acc_size(), y + p * g.oh * g.ow, g);
  }
  if (act_y_ >= 0) {
    act_.bind(act_y_, call.outputs[0]);
    act_.run(call.scratch.subspan(g.x_bytes() + acc_bytes()));
  }
}

// The call's geometry when the direct kernel takes it (see the top of this file), else nothing.
std::optional<Geometry> direct_geometry(const KernelRequest& request) {
  const auto* op = dynamic_cast<const ops::Conv2D*>(&request.op);
  if (!op || request.mode != ops::Mode::Infer || request.backward || request.inputs.size() != 1 ||
      request.inputs[0].dtype != DType::f32 || request.inputs[0].shape.rank() != 4)
    return std::nullopt;
  const ops::Conv2DAttrs& a = op->conv_attrs();
  const Shape& x = request.inputs[0].shape;
  const Shape& y = request.outputs[0].shape;
  if (a.groups != 1 || a.stride != std::array<std::int64_t, 2>{1, 1} ||
      a.dilation != std::array<std::int64_t, 2>{1, 1} || x[1] > kMaxChannels)
    return std::nullopt;
  const ops::Pads p = op->resolved_pads(x[2], x[3]);  // top, left, bottom, right
  const Geometry g{.n = x[0],
                   .c = x[1],
                   .f = y[1],
                   .oh = y[2],
                   .ow = y[3],
                   .kh = a.kernel[0],
                   .kw = a.kernel[1],
                   .h = x[2],
                   .w = x[3],
                   .pt = p[0],
                   .pl = p[1],
                   .hp = x[2] + p[0] + p[2],
                   .wp = x[3] + p[1] + p[3]};
  if (g.n * g.f * g.oh * g.ow * g.c * g.kh * g.kw > kMaxMacs) return std::nullopt;
  return g;
}

}  // namespace

bool conv2d_direct_applies(const KernelRequest& request) {
  return direct_geometry(request).has_value();
}

std::unique_ptr<Kernel> make_conv2d_direct_kernel(const KernelRequest& request) {
  const std::optional<Geometry> g = direct_geometry(request);
  if (!g || !request.all_plain()) return nullptr;
  const auto& a = static_cast<const ops::Conv2D&>(request.op).conv_attrs();
  return build_or_null([&]() -> std::unique_ptr<Kernel> {
    return std::make_unique<Conv2DDirectKernel>(a, *g, request.outputs[0].shape);
  });
}

}  // namespace convkit::backend::cpu
