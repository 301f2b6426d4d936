// SampleRng: the random stream of one sample of one batch. Draw j of sample s in batch b of
// epoch e is a pure function of (stream key, e, b, s, j): a batch key is derived from
// (key, e, b) by one Philox block, and draw j is word j % 4 of block philox(batch key, s, j / 4).
// Nothing depends on call order or on which thread handles the sample.
#pragma once

#include <convkit/util/rng.h>

#include <cmath>
#include <cstdint>

namespace convkit::data::transforms {

// The key of batch `batch` of epoch `epoch` in stream `key`.
inline std::uint64_t batch_key(std::uint64_t key, std::uint64_t epoch, std::uint64_t batch) {
  const Philox4x32 r = philox(key, epoch, batch);
  return std::uint64_t(r[0]) << 32 | r[1];
}

class SampleRng {
 public:
  SampleRng(std::uint64_t batch_key, std::uint64_t sample) : key_(batch_key), sample_(sample) {}

  std::uint32_t bits(std::uint64_t j) const { return philox(key_, sample_, j / 4)[j % 4]; }
  float uniform(std::uint64_t j) const { return uniform01(bits(j)); }  // [0, 1)
  float uniform(std::uint64_t j, float lo, float hi) const { return lo + (hi - lo) * uniform(j); }
  bool bernoulli(std::uint64_t j, float p) const { return p > 0 && uniform(j) < p; }
  // An integer uniform in [lo, hi] (inclusive).
  int integer(std::uint64_t j, int lo, int hi) const {
    return lo + int(std::uint64_t(bits(j)) * std::uint64_t(hi - lo + 1) >> 32);
  }
  // Standard normal from draws j and j + 1 (Box-Muller).
  float normal(std::uint64_t j) const {
    const float u1 = 1.0f - uniform(j), u2 = uniform(j + 1);
    return std::sqrt(-2.0f * std::log(u1)) * std::cos(6.28318530718f * u2);
  }
  // Four draws at once: words of block `block` (draws 4 * block .. 4 * block + 3).
  Philox4x32 block(std::uint64_t block) const { return philox(key_, sample_, block); }

 private:
  std::uint64_t key_, sample_;
};

}  // namespace convkit::data::transforms
