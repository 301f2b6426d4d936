// Multiply reference kernel. Equal shapes: y = a * b, da = dy * b, db = dy * a. Broadcast
// (a [N, C, H, W], b [N, C, 1, 1]): y[n, c, h, w] = a[n, c, h, w] * b[n, c];
// da = dy * b[n, c], db[n, c] = sum over (h, w) of dy * a. One (n, c) plane per iteration.
#include "ops/multiply.h"

namespace convkit::ops {

namespace {
constexpr std::int64_t kParallelWork = 32768;

bool broadcast(const Shape& a, const Shape& b) {
  return a.rank() == 4 && b.rank() == 4 && b[0] == a[0] && b[1] == a[1] && b[2] == 1 && b[3] == 1;
}
}  // namespace

std::vector<TensorSpec> Multiply::infer(std::span<const TensorSpec> inputs) const {
  expect_inputs("Multiply", inputs, 2);
  for (const auto& in : inputs)
    if (in.dtype != DType::f32)
      shape_fail("Multiply expects f32 inputs, got {}", name_of(in.dtype));
  const Shape &a = inputs[0].shape, &b = inputs[1].shape;
  if (a != b && !broadcast(a, b))
    shape_fail("Multiply needs inputs of one shape or [N, C, H, W] and [N, C, 1, 1], got {} and {}",
               a.str(), b.str());
  return {inputs[0]};
}

double Multiply::flops(std::span<const TensorSpec> inputs) const {
  return double(inputs[0].shape.numel());
}

void Multiply::forward(const ForwardCall& call) const {
  const float* a = call.inputs[0].data<float>();
  const float* b = call.inputs[1].data<float>();
  float* y = call.outputs[0].data<float>();
  const std::int64_t n = call.outputs[0].numel(), nb = call.inputs[1].numel();
  if (nb == n) {
#pragma omp parallel for simd schedule(static) if (n > kParallelWork)
    for (std::int64_t i = 0; i < n; ++i) y[i] = a[i] * b[i];
    return;
  }
  const std::int64_t hw = n / nb;
#pragma omp parallel for schedule(static) if (n > kParallelWork)
  for (std::int64_t p = 0; p < nb; ++p)
    for (std::int64_t i = 0; i < hw; ++i) y[p * hw + i] = a[p * hw + i] * b[p];
}

void Multiply::backward(const BackwardCall& call) const {
  const float* a = call.inputs[0].data<float>();
  const float* b = call.inputs[1].data<float>();
  const float* dy = call.grad_outputs[0].data<float>();
  const Tensor &da_t = call.grad_inputs[0], &db_t = call.grad_inputs[1];
  float* da = da_t.defined() ? da_t.data<float>() : nullptr;
  float* db = db_t.defined() ? db_t.data<float>() : nullptr;
  const std::int64_t n = call.grad_outputs[0].numel(), nb = call.inputs[1].numel();
  if (nb == n) {
#pragma omp parallel for simd schedule(static) if (n > kParallelWork)
    for (std::int64_t i = 0; i < n; ++i) {
      if (da) da[i] = dy[i] * b[i];
      if (db) db[i] = dy[i] * a[i];
    }
    return;
  }
  const std::int64_t hw = n / nb;
#pragma omp parallel for schedule(static) if (n > kParallelWork)
  for (std::int64_t p = 0; p < nb; ++p) {
    const float* dyp = dy + p * hw;
    if (da)
      for (std::int64_t i = 0; i < hw; ++i) da[p * hw + i] = dyp[i] * b[p];
    if (db) {
      double s = 0;
      for (std::int64_t i = 0; i < hw; ++i) s += double(dyp[i]) * a[p * hw + i];
      db[p] = float(s);
    }
  }
}

std::shared_ptr<const Op> make_multiply(const Attrs&) {
  return std::make_shared<Multiply>();
}

}  // namespace convkit::ops
