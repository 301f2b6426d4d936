// WeightAverage: the EMA update and swap over a flat weight block (see weight_average.h).
#include <convkit/train/weight_average.h>
#include <convkit/util/error.h>

#include <algorithm>
#include <cmath>

namespace convkit::train {

WeightAverage::WeightAverage(double decay) : decay_(decay) {
  if (!(decay >= 0 && decay < 1))
    fail(
        "weight averaging (train.ema_decay): the decay must lie in [0, 1) (0 = off, typical "
        "0.999), got {}",
        decay);
}

double WeightAverage::decay_at(std::int64_t step) const {
  return std::min(decay_, (1.0 + double(step)) / (10.0 + double(step)));
}

void WeightAverage::check_size(std::int64_t n) const {
  if (average_.defined() && average_.numel() != n)
    fail("weight averaging: the average holds {} floats but the model's parameter block has {}",
         average_.numel(), n);
}

void WeightAverage::reset(const float* weights, std::int64_t n) {
  if (!average_.defined() || average_.numel() != n) average_ = Tensor::zeros(Shape{n});
  std::copy(weights, weights + n, average_.data<float>());
}

void WeightAverage::update(const float* weights, std::int64_t n, std::int64_t step) {
  if (!enabled()) return;
  if (!average_.defined()) {
    reset(weights, n);
    return;
  }
  check_size(n);
  const float d = float(decay_at(step)), e = 1.0f - d;
  float* avg = average_.data<float>();
#pragma omp parallel for simd schedule(static) if (n >= (1 << 16))
  for (std::int64_t i = 0; i < n; ++i) avg[i] = d * avg[i] + e * weights[i];
}

void WeightAverage::swap(float* weights, std::int64_t n) {
  if (!enabled()) return;
  if (!average_.defined()) fail("weight averaging: swap before the average was started");
  check_size(n);
  std::swap_ranges(weights, weights + n, average_.data<float>());
}

}  // namespace convkit::train
