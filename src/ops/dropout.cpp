// Dropout: reference kernel. The keep/drop decision of each unit (an element, or a whole
// channel n*C + c when spatial) comes from Philox at (key, unit / 4, step), word unit % 4, so
// forward and backward regenerate the same mask, for any thread count, with nothing saved.
#include "ops/dropout.h"

#include <convkit/util/rng.h>

#include <algorithm>
#include <cstring>

namespace convkit::ops {

namespace {

constexpr std::int64_t kParallelMin = 32768;  // elements; below this one thread is faster

// The one comparison behind every mask decision: keep when u >= rate, u uniform in [0, 1).
inline bool keep_bits(std::uint32_t bits, double rate) {
  return double(uniform01(bits)) >= rate;
}

// dst = src * scale where the unit is kept, 0 where it is dropped. Tensors are seen as
// [units, inner] (inner = 1 for plain dropout, H*W for spatial). One Philox block serves four
// consecutive units; blocks are independent, so the loop parallelizes over them.
void apply_mask(const float* src, float* dst, std::int64_t units, std::int64_t inner,
                std::uint64_t key, std::uint64_t step, double rate) {
  const float scale = float(1.0 / (1.0 - rate));
  const std::int64_t blocks = (units + 3) / 4;
#pragma omp parallel for schedule(static) if (units * inner > kParallelMin)
  for (std::int64_t b = 0; b < blocks; ++b) {
    const Philox4x32 r = philox(key, std::uint64_t(b), step);
    const std::int64_t first = b * 4;
    const int count = int(std::min<std::int64_t>(4, units - first));
    for (int j = 0; j < count; ++j) {
      const float m = keep_bits(r[j], rate) ? scale : 0.0f;
      const float* s = src + (first + j) * inner;
      float* d = dst + (first + j) * inner;
      for (std::int64_t k = 0; k < inner; ++k) d[k] = s[k] * m;
    }
  }
}

void copy(const Tensor& from, const Tensor& to) {
  if (from.raw() != to.raw()) std::memcpy(to.raw(), from.raw(), from.nbytes());
}

}  // namespace

Dropout::Dropout(DropoutAttrs attrs) : a_(attrs) {
  if (!(a_.rate >= 0.0 && a_.rate < 1.0)) fail("Dropout rate must be in [0, 1), got {}", a_.rate);
}

bool Dropout::keep(std::uint64_t key, std::uint64_t step, std::int64_t unit, double rate) {
  const Philox4x32 r = philox(key, std::uint64_t(unit) / 4, step);
  return keep_bits(r[std::uint64_t(unit) % 4], rate);
}

Attrs Dropout::attrs() const {
  return {{"rate", a_.rate}, {"spatial", a_.spatial}};
}

std::vector<TensorSpec> Dropout::infer(std::span<const TensorSpec> inputs) const {
  expect_inputs("Dropout", inputs, 1);
  const TensorSpec& x = inputs[0];
  if (x.dtype != DType::f32)
    shape_fail("Dropout expects an f32 input, got {} {}", name_of(x.dtype), x.shape.str());
  if (a_.spatial && x.shape.rank() < 2)
    shape_fail("spatial Dropout expects an input [N, C, ...] with channels, got {}", x.shape.str());
  return {x};
}

void Dropout::forward(const ForwardCall& call) const {
  const Tensor& x = call.inputs[0];
  const Tensor& y = call.outputs[0];
  if (call.mode == Mode::Infer || a_.rate == 0.0) return copy(x, y);
  if (x.numel() == 0) return;
  // Units: channels (N*C, each of H*W elements) when spatial, else single elements.
  const std::int64_t inner = a_.spatial ? x.shape().numel_from(2) : 1;
  apply_mask(x.data<float>(), y.data<float>(), x.numel() / inner, inner, call.rng_key, call.step,
             a_.rate);
}

void Dropout::backward(const BackwardCall& call) const {
  const Tensor& dx = call.grad_inputs[0];
  if (!dx.defined()) return;
  const Tensor& dy = call.grad_outputs[0];
  if (a_.rate == 0.0) return copy(dy, dx);
  if (dy.numel() == 0) return;
  const std::int64_t inner = a_.spatial ? dy.shape().numel_from(2) : 1;
  apply_mask(dy.data<float>(), dx.data<float>(), dy.numel() / inner, inner, call.rng_key, call.step,
             a_.rate);
}

std::shared_ptr<const Op> make_dropout(const Attrs& attrs) {
  return std::make_shared<Dropout>(DropoutAttrs{.rate = attrs.get_float("rate", 0.5),
                                                .spatial = attrs.get_bool("spatial", false)});
}

}  // namespace convkit::ops
