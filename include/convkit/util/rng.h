// Counter-based random numbers (Philox4x32-10, Salmon et al. 2011). A value depends only on
// (key, counter), never on call order or thread count: element i of a dropout mask at step s
// is philox(key, {i, s}), so results are identical for any number of threads.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

namespace convkit {

using Philox4x32 = std::array<std::uint32_t, 4>;

// Philox4x32-10's round multipliers and key increments, for vectorized generators that must
// reproduce philox() bit for bit (the CPU dropout kernel).
inline constexpr std::uint32_t kPhiloxM0 = 0xD2511F53u, kPhiloxM1 = 0xCD9E8D57u;
inline constexpr std::uint32_t kPhiloxW0 = 0x9E3779B9u, kPhiloxW1 = 0xBB67AE85u;

// One Philox4x32-10 block: four 32-bit random words for a 128-bit counter and 64-bit key.
Philox4x32 philox(std::uint64_t key, std::uint64_t counter_lo, std::uint64_t counter_hi = 0);

// Uniform float in [0, 1) from 32 random bits (24-bit mantissa precision).
inline float uniform01(std::uint32_t bits) {
  return static_cast<float>(bits >> 8) * 0x1.0p-24f;
}

// Derives a stream key from a seed and a name (e.g. a parameter name), so every parameter and
// every stochastic layer draws from its own independent stream.
std::uint64_t derive_key(std::uint64_t seed, std::string_view name);

// Fills out[0..n) from stream `key` starting at element `first`: uniform [lo, hi) or normal.
void fill_uniform(float* out, std::int64_t n, std::uint64_t key, float lo, float hi,
                  std::uint64_t first = 0);
void fill_normal(float* out, std::int64_t n, std::uint64_t key, float mean, float stddev,
                 std::uint64_t first = 0);

}  // namespace convkit
