// Elastic distortion (see elastic.h).
#include "data/transforms/elastic.h"

namespace convkit::data::transforms {

std::vector<float> gaussian_kernel(float sigma) {
  const int radius = std::max(1, int(4.0f * sigma + 0.5f));
  std::vector<float> k(std::size_t(2 * radius + 1));
  double sum = 0;
  for (int i = -radius; i <= radius; ++i) {
    const double v = std::exp(-0.5 * double(i) * i / (double(sigma) * sigma));
    k[std::size_t(i + radius)] = float(v);
    sum += v;
  }
  for (float& v : k) v = float(v / sum);
  return k;
}

namespace {

// out[c] = sum_t k[t] * in[t * stride + c] for c < n, in blocks of 8 outputs held in registers
// (the last block reads, and discards, up to 7 values past the end).
void convolve(const float* in, std::int64_t stride, const float* k, int taps, float* out, int n) {
  for (int c0 = 0; c0 < n; c0 += 8) {
    float acc[8] = {};
    for (int t = 0; t < taps; ++t) {
      const float kt = k[t];
      const float* p = in + t * stride + c0;
#pragma omp simd
      for (int j = 0; j < 8; ++j) acc[j] += kt * p[j];
    }
    for (int j = 0; j < 8 && c0 + j < n; ++j) out[c0 + j] = acc[j];
  }
}

}  // namespace

void gaussian_blur(float* field, float* tmp, int h, int w, std::span<const float> kernel) {
  const int radius = int(kernel.size() / 2), taps = int(kernel.size());
  const float* k = kernel.data();
  // NOTE: both passes read reflected copies of the edges instead of testing borders per tap.
  float* pad = tmp;  // rows [-radius, h + radius) of the row-filtered field
  float* line = tmp + std::int64_t(h + 2 * radius) * w;  // one input row, padded likewise
  for (int r = 0; r < h; ++r) {
    const float* in = field + std::int64_t(r) * w;
    std::copy_n(in, w, line + radius);
    for (int j = 1; j <= radius; ++j) {
      line[radius - j] = in[border_index(-j, w, FillMode::Reflect)];
      line[radius + w - 1 + j] = in[border_index(w - 1 + j, w, FillMode::Reflect)];
    }
    convolve(line, 1, k, taps, pad + std::int64_t(r + radius) * w, w);
  }
  for (int j = 1; j <= radius; ++j) {
    std::copy_n(pad + std::int64_t(border_index(-j, h, FillMode::Reflect) + radius) * w, w,
                pad + std::int64_t(radius - j) * w);
    std::copy_n(pad + std::int64_t(border_index(h - 1 + j, h, FillMode::Reflect) + radius) * w, w,
                pad + std::int64_t(radius + h - 1 + j) * w);
  }
  for (int r = 0; r < h; ++r) {
    convolve(pad + std::int64_t(r) * w, w, k, taps, field + std::int64_t(r) * w, w);
  }
}

void random_displacements(const SampleRng& rng, int h, int w, float alpha,
                          std::span<const float> kernel, float* dy, float* dx, float* tmp) {
  const std::int64_t n = std::int64_t(h) * w;
  // Draw 4 + i: dy[i] for i < n, dx[i - n] after; four draws per Philox block.
  for (std::int64_t i = 0; i < 2 * n; i += 4) {
    const Philox4x32 r = rng.block(1 + std::uint64_t(i) / 4);
    for (std::int64_t j = 0; j < 4 && i + j < 2 * n; ++j) {
      const float u = 2.0f * uniform01(r[std::size_t(j)]) - 1.0f;
      (i + j < n ? dy[i + j] : dx[i + j - n]) = u;
    }
  }
  gaussian_blur(dy, tmp, h, w, kernel);
  gaussian_blur(dx, tmp, h, w, kernel);
  for (std::int64_t i = 0; i < n; ++i) dy[i] *= alpha, dx[i] *= alpha;
}

void displace(const Planes& src, const Planes& dst, const float* dy, const float* dx, FillMode mode,
              const float* fill) {
  const std::int64_t plane = dst.plane();
  for (int r = 0; r < dst.h; ++r)
    for (int c = 0; c < dst.w; ++c) {
      const std::int64_t i = std::int64_t(r) * dst.w + c;
      sample_bilinear(src, float(r) + dy[i], float(c) + dx[i], mode, fill, dst.data + i, plane);
    }
}

}  // namespace convkit::data::transforms
