// Mixer (mixup and cutmix) and mix_targets (see include/convkit/data/augment.h). Lambda comes
// from Beta(a, a) = X / (X + Y) with X, Y ~ Gamma(a), drawn by Marsaglia & Tsang's method from
// the sample's own counter-based stream.
#include <convkit/data/augment.h>

#include "data/transforms/image.h"
#include "data/transforms/sample_rng.h"

#include <omp.h>

#include <cstring>

namespace convkit::data {

namespace {

using transforms::SampleRng;

// Gamma(a, 1) using draws j, j + 1, ... of `rng` (j advances past the draws used).
float gamma_sample(const SampleRng& rng, std::uint64_t& j, float a) {
  if (a < 1) {  // Gamma(a) = Gamma(a + 1) * U^(1 / a)
    const float u = rng.uniform(j++);
    return gamma_sample(rng, j, a + 1) * std::pow(u, 1.0f / a);
  }
  const float d = a - 1.0f / 3.0f, c = 1.0f / std::sqrt(9.0f * d);
  for (int attempt = 0; attempt < 64; ++attempt) {
    const float x = rng.normal(j);
    j += 2;
    const float t = 1.0f + c * x;
    if (t <= 0) continue;
    const float v = t * t * t, u = rng.uniform(j++);
    if (std::log(u) < 0.5f * x * x + d - d * v + d * std::log(v)) return d * v;
  }
  return d;  // NOTE: acceptance is > 95% per attempt; 64 failures in a row do not happen in
             // practice.
}

float beta_sample(const SampleRng& rng, std::uint64_t j, float a) {
  const float x = gamma_sample(rng, j, a), y = gamma_sample(rng, j, a);
  if (x + y <= 0) return rng.uniform(j) < 0.5f ? 0.0f : 1.0f;  // both underflowed (tiny a)
  return x / (x + y);
}

}  // namespace

Mixer::Mixer(const AugmentOptions& options, std::uint64_t seed)
    : mixup_(options.mixup), cutmix_(options.cutmix), seed_(seed), threads_(options.threads) {
  validate(options);
}

void Mixer::apply(const Tensor& batch, std::uint64_t epoch, std::uint64_t batch_index,
                  std::span<int> partner, std::span<float> lambda) {
  if (!batch.defined() || batch.dtype() != DType::f32 || batch.rank() != 4 ||
      !transforms::dense(batch))
    fail("Mixer: expected a contiguous f32 batch [B, C, H, W], got {}",
         batch.defined() ? batch.shape().str() : "nothing");
  const std::int64_t b = batch.dim(0), h = batch.dim(2), w = batch.dim(3),
                     chw = batch.numel() / std::max<std::int64_t>(b, 1);
  if (std::int64_t(partner.size()) != b || std::int64_t(lambda.size()) != b)
    fail("Mixer: partner and lambda need {} entries (one per sample), got {} and {}", b,
         partner.size(), lambda.size());
  for (std::int64_t i = 0; i < b; ++i)
    partner[std::size_t(i)] = int(i), lambda[std::size_t(i)] = 1.0f;
  if (!enabled() || b < 2) return;
  const std::uint64_t key =
      transforms::batch_key(derive_key(seed_, "data.augment.mix"), epoch, batch_index);
  random_permutation(
      b, transforms::batch_key(derive_key(seed_, "data.augment.mix.partner"), epoch, batch_index),
      permutation_);
  if (copy_.size() < std::size_t(batch.numel())) copy_.resize(std::size_t(batch.numel()));
  float* x = batch.data<float>();
  std::memcpy(copy_.data(), x, batch.nbytes());
  const int threads =
      int(std::min<std::int64_t>(threads_ > 0 ? threads_ : omp_get_max_threads(), b));
  // NOTE: mixing is a memory-bound pass over the batch; threads pay off only on large batches.
#pragma omp parallel for num_threads(threads) \
    schedule(static) if (threads > 1 && batch.numel() >= (1 << 20))
  for (std::int64_t i = 0; i < b; ++i) {
    const SampleRng rng(key, std::uint64_t(i));
    const std::int64_t p = permutation_[std::size_t(i)];
    partner[std::size_t(i)] = int(p);
    // Draw 0: mixup or cutmix (when both are on); 1, 2: the cutmix box center; 8 on: lambda.
    const bool use_cutmix = cutmix_ > 0 && (mixup_ == 0 || rng.uniform(0) < 0.5f);
    float lam = beta_sample(rng, 8, use_cutmix ? cutmix_ : mixup_);
    float* xi = x + i * chw;
    const float* xp = copy_.data() + p * chw;
    if (!use_cutmix) {
      const float other = 1.0f - lam;
#pragma omp simd
      for (std::int64_t k = 0; k < chw; ++k) xi[k] = lam * xi[k] + other * xp[k];
    } else {
      // A box of side ratio sqrt(1 - lambda) around a uniform center, clipped to the image.
      const float ratio = std::sqrt(1.0f - lam);
      const std::int64_t cut_h = std::int64_t(float(h) * ratio),
                         cut_w = std::int64_t(float(w) * ratio);
      const std::int64_t cy = rng.integer(1, 0, int(h - 1)), cx = rng.integer(2, 0, int(w - 1));
      const std::int64_t r0 = std::clamp(cy - cut_h / 2, std::int64_t(0), h),
                         r1 = std::clamp(cy + cut_h / 2, std::int64_t(0), h);
      const std::int64_t c0 = std::clamp(cx - cut_w / 2, std::int64_t(0), w),
                         c1 = std::clamp(cx + cut_w / 2, std::int64_t(0), w);
      for (std::int64_t plane = 0; plane < chw; plane += h * w)
        for (std::int64_t r = r0; r < r1; ++r)
          std::memcpy(xi + plane + r * w + c0, xp + plane + r * w + c0,
                      std::size_t(c1 - c0) * sizeof(float));
      lam = 1.0f - float((r1 - r0) * (c1 - c0)) / float(h * w);
    }
    lambda[std::size_t(i)] = lam;
  }
}

void mix_targets(const Tensor& labels_i32, std::span<const int> partner,
                 std::span<const float> lambda, int num_classes, const Tensor& soft_f32) {
  if (!labels_i32.defined() || labels_i32.dtype() != DType::i32 || labels_i32.rank() != 1)
    fail("mix_targets: labels must be i32 [B]");
  const std::int64_t b = labels_i32.dim(0);
  if (std::int64_t(partner.size()) != b || std::int64_t(lambda.size()) != b)
    fail("mix_targets: partner and lambda need {} entries, got {} and {}", b, partner.size(),
         lambda.size());
  if (num_classes <= 0) fail("mix_targets: num_classes {} must be positive", num_classes);
  if (!soft_f32.defined() || soft_f32.dtype() != DType::f32 || soft_f32.rank() != 2 ||
      soft_f32.dim(0) != b || soft_f32.dim(1) != num_classes || !transforms::dense(soft_f32))
    fail("mix_targets: soft targets must be contiguous f32 [{}, {}], got {}", b, num_classes,
         soft_f32.defined() ? soft_f32.shape().str() : "nothing");
  const std::int32_t* y = labels_i32.data<std::int32_t>();
  float* soft = soft_f32.data<float>();
  soft_f32.zero();
  for (std::int64_t i = 0; i < b; ++i) {
    const int p = partner[std::size_t(i)];
    if (p < 0 || p >= b) fail("mix_targets: partner[{}] = {} is outside [0, {})", i, p, b);
    if (y[i] < 0 || y[i] >= num_classes || y[p] < 0 || y[p] >= num_classes)
      fail("mix_targets: label {} (sample {} or its partner) is outside [0, {})",
           y[i] < 0 || y[i] >= num_classes ? y[i] : y[p], i, num_classes);
    const float lam = lambda[std::size_t(i)];
    soft[i * num_classes + y[i]] += lam;
    soft[i * num_classes + y[p]] += 1.0f - lam;
  }
}

}  // namespace convkit::data
