// Dataset operations that do not depend on a file format: subsets, seeded splits, the shared
// Philox-driven permutation, and per-channel pixel statistics.
#include <convkit/data/dataset.h>
#include <convkit/util/rng.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>

namespace convkit::data {

void random_permutation(std::int64_t n, std::uint64_t key, std::vector<std::int64_t>& out) {
  out.resize(static_cast<std::size_t>(n));
  for (std::int64_t i = 0; i < n; ++i) out[i] = i;
  // Fisher-Yates from the back; step i draws from counter i, so the result depends on key only.
  for (std::int64_t i = n - 1; i > 0; --i) {
    auto r = philox(key, std::uint64_t(i), 0x7065726dull);  // "perm"
    std::uint64_t bits = std::uint64_t(r[0]) << 32 | r[1];
    // NOTE: multiply-shift maps 64 random bits onto [0, i] with bias below 2^-40 for any n we
    // meet; cheaper and simpler than rejection sampling.
    auto j = static_cast<std::int64_t>((unsigned __int128)(bits)*std::uint64_t(i + 1) >> 64);
    std::swap(out[i], out[j]);
  }
}

Dataset Dataset::subset(std::span<const std::int64_t> indices) const {
  const std::int64_t n = size();
  const auto k = static_cast<std::int64_t>(indices.size());
  Shape shape = images.shape().with_batch(k);
  Dataset out;
  out.images = Tensor::empty(shape, DType::u8);
  out.labels = Tensor::empty({k}, DType::i32);
  out.num_classes = num_classes;
  out.class_names = class_names;
  out.name = name;
  const std::size_t row = static_cast<std::size_t>(images.shape().numel_from(1));
  const auto* src = static_cast<const std::uint8_t*>(images.raw());
  auto* dst = static_cast<std::uint8_t*>(out.images.raw());
  const std::int32_t* y = labels.data<std::int32_t>();
  std::int32_t* yo = out.labels.data<std::int32_t>();
  for (std::int64_t i = 0; i < k; ++i) {
    std::int64_t s = indices[i];
    if (s < 0 || s >= n)
      fail("{}: subset index {} (position {}) is out of range: expected [0, {})",
           name.empty() ? "dataset" : name, s, i, n);
    std::memcpy(dst + i * row, src + s * row, row);
    yo[i] = y[s];
  }
  return out;
}

std::pair<Dataset, Dataset> Dataset::split(double fraction, std::uint64_t seed) const {
  if (!(fraction > 0.0 && fraction < 1.0))
    fail("{}: split fraction {} is out of range: expected a value in (0, 1)",
         name.empty() ? "dataset" : name, fraction);
  const std::int64_t n = size();
  const auto held = static_cast<std::int64_t>(std::llround(fraction * double(n)));
  if (held == 0 || held == n)
    fail("{}: splitting {} samples with fraction {} leaves an empty part",
         name.empty() ? "dataset" : name, n, fraction);
  std::vector<std::int64_t> perm;
  random_permutation(n, derive_key(seed, "data.split"), perm);
  std::vector<std::int64_t> rest(perm.begin(), perm.end() - held);
  std::vector<std::int64_t> out(perm.end() - held, perm.end());
  std::sort(rest.begin(), rest.end());
  std::sort(out.begin(), out.end());
  return {subset(rest), subset(out)};
}

ChannelStats channel_stats(const Dataset& dataset) {
  const Tensor& x = dataset.images;
  if (x.dtype() != DType::u8 || x.rank() != 4)
    fail("channel_stats: images must be u8 [N, C, H, W], got {} {}", name_of(x.dtype()),
         x.shape().str());
  const std::int64_t n = x.dim(0), c = x.dim(1), hw = x.dim(2) * x.dim(3);
  const auto* p = static_cast<const std::uint8_t*>(x.raw());
  ChannelStats stats;
  for (std::int64_t ch = 0; ch < c; ++ch) {
    // A histogram keeps the sums exact regardless of N.
    std::array<std::uint64_t, 256> hist{};
    for (std::int64_t i = 0; i < n; ++i) {
      const std::uint8_t* row = p + (i * c + ch) * hw;
      for (std::int64_t j = 0; j < hw; ++j) ++hist[row[j]];
    }
    double count = double(n * hw), sum = 0, sum2 = 0;
    for (int v = 0; v < 256; ++v) {
      double f = v / 255.0;
      sum += f * double(hist[v]);
      sum2 += f * f * double(hist[v]);
    }
    double mean = count > 0 ? sum / count : 0.0;
    stats.mean.push_back(mean);
    stats.std.push_back(count > 0 ? std::sqrt(std::max(0.0, sum2 / count - mean * mean)) : 0.0);
  }
  return stats;
}

}  // namespace convkit::data
