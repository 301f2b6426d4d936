// Dense reference kernel: y [N, U] = x [N, K] W^T + b with W [U, K], b [U], optional fused ReLU.
// Forward computes one y[n, u] per OpenMP iteration; backward computes one row of dx per n and
// one row of dW (and dB entry) per u, each sum in a fixed order, so threads do not matter.
#include "ops/dense.h"

#include <algorithm>

namespace convkit::ops {

// Loops with less work than this run on one thread (forking costs more than it saves).
constexpr std::int64_t kParallelWork = 32768;

Dense::Dense(DenseAttrs attrs) : a_(attrs) {
  expect_fusable("Dense", a_.activation);
  if (a_.units <= 0) fail("Dense attribute 'units' must be > 0, got {}", a_.units);
}

Attrs Dense::attrs() const {
  return {
      {"units", a_.units}, {"bias", a_.bias}, {"activation", std::string(name_of(a_.activation))}};
}

std::vector<TensorSpec> Dense::infer(std::span<const TensorSpec> inputs) const {
  expect_inputs("Dense", inputs, 1);
  const Shape& s = inputs[0].shape;
  if (s.rank() != 2)
    shape_fail("Dense expects a 2-D input [N, K], got {} (add a Flatten before it)", s.str());
  if (inputs[0].dtype != DType::f32)
    shape_fail("Dense expects an f32 input, got {}", name_of(inputs[0].dtype));
  return {{Shape{s[0], a_.units}, DType::f32}};
}

std::vector<ParamSpec> Dense::params(std::span<const TensorSpec> inputs) const {
  const std::int64_t k = inputs[0].shape[1];
  std::vector<ParamSpec> specs{{.name = "weight",
                                .shape = Shape{a_.units, k},
                                .init = {InitKind::TorchUniform},
                                .fan_in = k,
                                .fan_out = a_.units}};
  if (a_.bias)
    specs.push_back({.name = "bias",
                     .shape = Shape{a_.units},
                     .init = {InitKind::TorchUniform},
                     .fan_in = k,
                     .fan_out = a_.units,
                     .decay = false});
  return specs;
}

BackwardNeeds Dense::backward_needs() const {
  return {.inputs = true, .outputs = a_.activation != FusedActivation::None};
}

double Dense::flops(std::span<const TensorSpec> inputs) const {
  return 2.0 * double(inputs[0].shape[0]) * double(inputs[0].shape[1]) * double(a_.units);
}

void Dense::forward(const ForwardCall& call) const {
  const std::int64_t n = call.inputs[0].dim(0), k = call.inputs[0].dim(1), u = a_.units;
  const float* x = call.inputs[0].data<float>();
  const float* w = call.params[0].data<float>();
  const float* b = a_.bias ? call.params[1].data<float>() : nullptr;
  float* y = call.outputs[0].data<float>();
  const FusedActivation act = a_.activation;
  const bool parallel = n * k * u > kParallelWork;
#pragma omp parallel for schedule(static) if (parallel)
  for (std::int64_t nu = 0; nu < n * u; ++nu) {
    const float* xr = x + (nu / u) * k;
    const float* wr = w + (nu % u) * k;
    float s = 0.0f;
    for (std::int64_t i = 0; i < k; ++i) s += xr[i] * wr[i];
    if (b) s += b[nu % u];
    y[nu] = apply_fused(act, s);
  }
}

void Dense::backward(const BackwardCall& call) const {
  const std::int64_t n = call.inputs[0].dim(0), k = call.inputs[0].dim(1), u = a_.units;
  const float* x = call.inputs[0].data<float>();
  const float* w = call.params[0].data<float>();
  const float* dy = call.grad_outputs[0].data<float>();
  // NOTE: the fused activation's derivative is applied on the fly (from y): no temporary.
  const FusedActivation act = a_.activation;
  const float* y = act != FusedActivation::None ? call.outputs[0].data<float>() : nullptr;
  auto grad = [dy, y, act](std::int64_t i) { return y ? fused_grad(act, y[i], dy[i]) : dy[i]; };
  const bool parallel = n * k * u > kParallelWork;

  if (!call.grad_inputs.empty() && call.grad_inputs[0].defined()) {
    float* dx = call.grad_inputs[0].data<float>();
#pragma omp parallel for schedule(static) if (parallel)
    for (std::int64_t r = 0; r < n; ++r) {
      float* dxr = dx + r * k;
      std::fill(dxr, dxr + k, 0.0f);
      for (std::int64_t j = 0; j < u; ++j) {
        const float g = grad(r * u + j);
        const float* wr = w + j * k;
        for (std::int64_t i = 0; i < k; ++i) dxr[i] += g * wr[i];
      }
    }
  }

  const bool want_w = !call.grad_params.empty() && call.grad_params[0].defined();
  const bool want_b = a_.bias && call.grad_params.size() > 1 && call.grad_params[1].defined();
  if (!want_w && !want_b) return;
  float* dw = want_w ? call.grad_params[0].data<float>() : nullptr;
  float* db = want_b ? call.grad_params[1].data<float>() : nullptr;
#pragma omp parallel for schedule(static) if (parallel)
  for (std::int64_t j = 0; j < u; ++j) {
    float* dwr = dw ? dw + j * k : nullptr;
    if (dwr) std::fill(dwr, dwr + k, 0.0f);
    float sb = 0.0f;
    for (std::int64_t r = 0; r < n; ++r) {
      const float g = grad(r * u + j);
      sb += g;
      if (!dwr) continue;
      const float* xr = x + r * k;
      for (std::int64_t i = 0; i < k; ++i) dwr[i] += g * xr[i];
    }
    if (db) db[j] = sb;
  }
}

std::shared_ptr<const Op> make_dense(const Attrs& attrs) {
  return std::make_shared<Dense>(DenseAttrs{
      .units = attrs.get_int("units", 0),
      .bias = attrs.get_bool("bias", true),
      .activation = fused_activation_from_name(attrs.get_string("activation", "none")),
  });
}

}  // namespace convkit::ops
