// AvgPool2D for non-overlapping windows (stride = kernel, no padding) over plain
// x [N, C, H, W] -> y [N, C, H / kh, W / kw]: LeNet's 2x2 average pooling.
// NOTE: measured 3x (batch 1) to 6x (batch 128) faster than oneDNN 2.6's plain-layout (ncsp)
// average pooling, forward and backward (tests/backend/cpu/pool2d_kernel_test.cpp, WindowTiming).
// Max pooling stays on oneDNN: its argmax workspace makes its backward 6x faster than
// recomputing the argmax here, and its forward was 2x faster than these loops on 24x24 planes.
//
// Same arithmetic as the reference kernel (row-major sum, divided by kh * kw: bit-identical
// results); rows and columns past the
// last whole window get no gradient (dx = 0 there). One (n, c) plane per OpenMP iteration, so
// results do not depend on the thread count. The per-plane loops are compiled for AVX-512, AVX2 and
// the baseline, picked at load time (target_clones).
#include "backend/cpu/kernels.h"
#include "ops/pool2d.h"

#include <cstring>
#include <optional>

namespace convkit::backend::cpu {

namespace {

constexpr std::int64_t kParallelWork = 32768;  // below this, forking costs more than it saves

// One plane's geometry.
struct Plane {
  std::int64_t h, w, oh, ow, kh, kw;
};

#define CONVKIT_CLONES [[gnu::target_clones("avx512f", "avx2", "default")]]

CONVKIT_CLONES void avg_forward_2x2(const float* x, float* y, const Plane& g) {
  for (std::int64_t i = 0; i < g.oh; ++i) {
    const float* r0 = x + 2 * i * g.w;
    const float* r1 = r0 + g.w;
    float* out = y + i * g.ow;
#pragma omp simd
    for (std::int64_t j = 0; j < g.ow; ++j)
      out[j] = (((r0[2 * j] + r0[2 * j + 1]) + r1[2 * j]) + r1[2 * j + 1]) / 4.0f;
  }
}

CONVKIT_CLONES void avg_backward_2x2(const float* dy, float* dx, const Plane& g) {
  for (std::int64_t i = 0; i < g.oh; ++i) {
    float* d0 = dx + 2 * i * g.w;
    float* d1 = d0 + g.w;
    const float* grad = dy + i * g.ow;
#pragma omp simd
    for (std::int64_t j = 0; j < g.ow; ++j) {
      const float v = grad[j] / 4.0f;
      d0[2 * j] = d0[2 * j + 1] = d1[2 * j] = d1[2 * j + 1] = v;
    }
  }
}

// Any window size: plain loops (rare shapes; correctness over speed).
void avg_forward_any(const float* x, float* y, const Plane& g) {
  const float count = float(g.kh * g.kw);
  for (std::int64_t i = 0; i < g.oh; ++i)
    for (std::int64_t j = 0; j < g.ow; ++j) {
      const float* win = x + i * g.kh * g.w + j * g.kw;
      float s = 0.0f;
      for (std::int64_t r = 0; r < g.kh; ++r)
        for (std::int64_t c = 0; c < g.kw; ++c) s += win[r * g.w + c];
      y[i * g.ow + j] = s / count;
    }
}

void avg_backward_any(const float* dy, float* dx, const Plane& g) {
  const float count = float(g.kh * g.kw);
  for (std::int64_t i = 0; i < g.oh; ++i)
    for (std::int64_t j = 0; j < g.ow; ++j) {
      const float v = dy[i * g.ow + j] / count;
      float* win = dx + i * g.kh * g.w + j * g.kw;
      for (std::int64_t r = 0; r < g.kh; ++r)
        for (std::int64_t c = 0; c < g.kw; ++c) win[r * g.w + c] = v;
    }
}

// Zeroes the rows and columns of dx no window covers (H or W not a multiple of the kernel).
void zero_uncovered(float* dx, const Plane& g) {
  const std::int64_t covered_w = g.ow * g.kw;
  if (covered_w < g.w)
    for (std::int64_t r = 0; r < g.oh * g.kh; ++r)
      std::memset(dx + r * g.w + covered_w, 0, std::size_t(g.w - covered_w) * sizeof(float));
  for (std::int64_t r = g.oh * g.kh; r < g.h; ++r)
    std::memset(dx + r * g.w, 0, std::size_t(g.w) * sizeof(float));
}

class Pool2DWindowKernel final : public Kernel {
 public:
  Pool2DWindowKernel(const KernelRequest& request, const Plane& plane)
      : two_(plane.kh == 2 && plane.kw == 2),
        g_(plane),
        planes_(request.inputs[0].shape[0] * request.inputs[0].shape[1]) {}
  std::string_view name() const override { return "simd"; }
  std::vector<TensorSpec> saved() const override { return {}; }
  void forward(const ForwardCall& call) override;
  void backward(const BackwardCall& call) override;

 private:
  bool parallel() const { return planes_ * g_.h * g_.w > kParallelWork; }

  bool two_;
  Plane g_;
  std::int64_t planes_;
};

void Pool2DWindowKernel::forward(const ForwardCall& call) {
  const float* x = call.inputs[0].data<float>();
  float* y = call.outputs[0].data<float>();
  const std::int64_t in = g_.h * g_.w, out = g_.oh * g_.ow;
#pragma omp parallel for schedule(static) if (parallel())
  for (std::int64_t p = 0; p < planes_; ++p) {
    const float* xp = x + p * in;
    float* yp = y + p * out;
    two_ ? avg_forward_2x2(xp, yp, g_) : avg_forward_any(xp, yp, g_);
  }
}

void Pool2DWindowKernel::backward(const BackwardCall& call) {
  if (call.grad_inputs.empty() || !call.grad_inputs[0].defined()) return;
  const float* dy = call.grad_outputs[0].data<float>();
  float* dx = call.grad_inputs[0].data<float>();
  const std::int64_t in = g_.h * g_.w, out = g_.oh * g_.ow;
#pragma omp parallel for schedule(static) if (parallel())
  for (std::int64_t p = 0; p < planes_; ++p) {
    const float* dyp = dy + p * out;
    float* dxp = dx + p * in;
    two_ ? avg_backward_2x2(dyp, dxp, g_) : avg_backward_any(dyp, dxp, g_);
    zero_uncovered(dxp, g_);
  }
}

// The plane geometry when the window kernel takes the request's shapes (layouts aside).
std::optional<Plane> window_plane(const KernelRequest& request) {
  const auto* op = dynamic_cast<const ops::Pool2D*>(&request.op);
  if (!op || op->kind() != ops::PoolKind::Avg || request.inputs.size() != 1 ||
      request.inputs[0].dtype != DType::f32 || request.inputs[0].shape.rank() != 4 ||
      request.outputs.size() != 1)
    return std::nullopt;
  const auto& a = op->pool_attrs();
  const Shape& x = request.inputs[0].shape;
  const Shape& y = request.outputs[0].shape;
  const ops::Pads pads = op->resolved_pads(x[2], x[3]);
  if (a.stride[0] != a.kernel[0] || a.stride[1] != a.kernel[1] || pads != ops::Pads{0, 0, 0, 0})
    return std::nullopt;
  const Plane plane{x[2], x[3], y[2], y[3], a.kernel[0], a.kernel[1]};
  if (plane.oh != x[2] / plane.kh || plane.ow != x[3] / plane.kw)
    return std::nullopt;  // not floor mode
  return plane;
}

}  // namespace

bool pool2d_window_applies(const KernelRequest& request) {
  return window_plane(request).has_value();
}

std::unique_ptr<Kernel> make_pool2d_window_kernel(const KernelRequest& request) {
  const std::optional<Plane> plane = window_plane(request);
  if (!plane || !request.all_plain()) return nullptr;
  return std::make_unique<Pool2DWindowKernel>(request, *plane);
}

}  // namespace convkit::backend::cpu
