// Shared pieces of the per-sample transforms: a view of one sample's planes f32 [C, H, W], the
// normalization that maps pixel units (0..255) to the batch's values, border handling for the
// fill modes, and bilinear sampling at a real-valued position (pixel centers at integers).
#pragma once

#include <convkit/data/augment.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

namespace convkit::data::transforms {

// One sample: C contiguous planes of H x W floats.
struct Planes {
  float* data;
  int c, h, w;
  std::int64_t plane() const { return std::int64_t(h) * w; }
  float* channel(int k) const { return data + k * plane(); }
};

// normalized = (pixel / 255 - mean[k]) / std[k], per channel k.
struct Normalization {
  std::vector<float> mean, std;  // C entries each

  Normalization() = default;
  // From one value or one per channel, expanded to `channels` entries.
  Normalization(std::span<const float> m, std::span<const float> s, int channels) {
    for (int k = 0; k < channels; ++k) {
      mean.push_back(m[m.size() == 1 ? 0 : std::size_t(k)]);
      std.push_back(s[s.size() == 1 ? 0 : std::size_t(k)]);
    }
  }
  int channels() const { return int(mean.size()); }
  float to_normalized(int k, float pixel) const { return (pixel / 255.0f - mean[k]) / std[k]; }
  float to_pixel(int k, float v) const { return (v * std[k] + mean[k]) * 255.0f; }
};

// Whether `t` is dense row-major, like Tensor::is_contiguous but without building a strides
// vector (no allocation: it runs once per batch in the Loader's worker).
inline bool dense(const Tensor& t) {
  std::int64_t expect = 1;
  for (int i = t.rank() - 1; i >= 0; --i) {
    if (t.strides()[std::size_t(i)] != expect) return false;
    expect *= t.dim(i);
  }
  return true;
}

// Maps coordinate i into [0, n) under `mode`, or -1 when it lies outside and mode is Constant.
inline int border_index(int i, int n, FillMode mode) {
  if (unsigned(i) < unsigned(n)) return i;
  if (mode == FillMode::Constant) return -1;
  if (mode == FillMode::Nearest) return i < 0 ? 0 : n - 1;
  // Reflect: ... c b a | a b c ... c | c b a ...; one reflection covers most uses cheaply.
  if (i < 0 && i >= -n) return -i - 1;
  if (i >= n && i < 2 * n) return 2 * n - 1 - i;
  const int period = 2 * n;
  int m = i % period;
  if (m < 0) m += period;
  return m < n ? m : period - 1 - m;
}

// Bilinear sample of every channel of `src` at (y, x), written to out[k * out_stride]. Taps
// outside the image follow `mode`; `fill` holds the constant per channel (normalized units).
inline void sample_bilinear(const Planes& src, float y, float x, FillMode mode, const float* fill,
                            float* out, std::int64_t out_stride) {
  // NOTE: far-away positions (strong zoom-out) are clamped so the integer casts stay defined;
  // every tap there is outside the image anyway.
  y = std::clamp(y, -1.0e6f, 1.0e6f);
  x = std::clamp(x, -1.0e6f, 1.0e6f);
  const float fy = std::floor(y), fx = std::floor(x);
  const int y0 = int(fy), x0 = int(fx);
  const float wy = y - fy, wx = x - fx;
  const std::int64_t plane = src.plane();
  if (y0 >= 0 && x0 >= 0 && y0 + 1 < src.h && x0 + 1 < src.w) {
    const float* p = src.data + std::int64_t(y0) * src.w + x0;
    for (int k = 0; k < src.c; ++k, p += plane) {
      const float top = p[0] + wx * (p[1] - p[0]);
      const float bottom = p[src.w] + wx * (p[src.w + 1] - p[src.w]);
      out[k * out_stride] = top + wy * (bottom - top);
    }
    return;
  }
  const int r0 = border_index(y0, src.h, mode), r1 = border_index(y0 + 1, src.h, mode);
  const int c0 = border_index(x0, src.w, mode), c1 = border_index(x0 + 1, src.w, mode);
  for (int k = 0; k < src.c; ++k) {
    const float* p = src.data + k * plane;
    auto at = [&](int r, int c) {
      return r < 0 || c < 0 ? fill[k] : p[std::int64_t(r) * src.w + c];
    };
    const float top = at(r0, c0) + wx * (at(r0, c1) - at(r0, c0));
    const float bottom = at(r1, c0) + wx * (at(r1, c1) - at(r1, c0));
    out[k * out_stride] = top + wy * (bottom - top);
  }
}

}  // namespace convkit::data::transforms
