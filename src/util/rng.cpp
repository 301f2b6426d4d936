// Philox4x32-10 and the fills built on it. Element i uses block i/4, word i%4 (uniform) or a
// Box-Muller pair from block i/2 (normal), so any slice can be regenerated independently.
#include <convkit/util/rng.h>

#include <cmath>

namespace convkit {

Philox4x32 philox(std::uint64_t key, std::uint64_t counter_lo, std::uint64_t counter_hi) {
  std::uint32_t c0 = std::uint32_t(counter_lo), c1 = std::uint32_t(counter_lo >> 32);
  std::uint32_t c2 = std::uint32_t(counter_hi), c3 = std::uint32_t(counter_hi >> 32);
  std::uint32_t k0 = std::uint32_t(key), k1 = std::uint32_t(key >> 32);
  for (int round = 0; round < 10; ++round) {
    std::uint64_t p0 = std::uint64_t(kPhiloxM0) * c0;
    std::uint64_t p1 = std::uint64_t(kPhiloxM1) * c2;
    std::uint32_t n0 = std::uint32_t(p1 >> 32) ^ c1 ^ k0;
    std::uint32_t n1 = std::uint32_t(p1);
    std::uint32_t n2 = std::uint32_t(p0 >> 32) ^ c3 ^ k1;
    std::uint32_t n3 = std::uint32_t(p0);
    c0 = n0, c1 = n1, c2 = n2, c3 = n3;
    k0 += kPhiloxW0, k1 += kPhiloxW1;
  }
  return {c0, c1, c2, c3};
}

std::uint64_t derive_key(std::uint64_t seed, std::string_view name) {
  // FNV-1a over the name, then mixed with the seed through one Philox block.
  std::uint64_t h = 1469598103934665603ull;
  for (unsigned char ch : name) h = (h ^ ch) * 1099511628211ull;
  auto r = philox(seed, h, 0x636b6b6579ull);  // "ckkey"
  return (std::uint64_t(r[0]) << 32) | r[1];
}

void fill_uniform(float* out, std::int64_t n, std::uint64_t key, float lo, float hi,
                  std::uint64_t first) {
  const float scale = hi - lo;
#pragma omp parallel for schedule(static) if (n > 65536)
  for (std::int64_t i = 0; i < n; ++i) {
    std::uint64_t e = first + std::uint64_t(i);
    auto r = philox(key, e / 4);
    out[i] = lo + scale * uniform01(r[e % 4]);
  }
}

void fill_normal(float* out, std::int64_t n, std::uint64_t key, float mean, float stddev,
                 std::uint64_t first) {
#pragma omp parallel for schedule(static) if (n > 65536)
  for (std::int64_t i = 0; i < n; ++i) {
    std::uint64_t e = first + std::uint64_t(i);
    auto r = philox(key, e / 2, 1);
    int j = int(e % 2) * 2;
    // Box-Muller on (u1, u2) in (0, 1]; the pair's two outputs are cos and sin branches.
    float u1 = 1.0f - uniform01(r[j]);
    float u2 = uniform01(r[j + 1]);
    float radius = std::sqrt(-2.0f * std::log(u1));
    float angle = 6.28318530718f * u2;
    out[i] = mean + stddev * radius * (e % 2 ? std::sin(angle) : std::cos(angle));
  }
}

}  // namespace convkit
