// Image resizing with OpenCV's cv::resize conventions (see include/convkit/data/augment.h).
// Separable: every output column, then every output row, is a weighted sum of K source taps
// (a table of indices and weights per axis); rows are filtered first, then columns.
#include <convkit/data/augment.h>

#include <algorithm>
#include <cmath>
#include <type_traits>
#include <vector>

namespace convkit::data {

namespace {

// Taps of one axis: output i reads index[i * k + t] with weight[i * k + t], t < k.
struct Taps {
  int k = 1;
  std::vector<int> index;
  std::vector<float> weight;
};

// Keys' cubic convolution kernel with a = -0.75 (OpenCV's choice), at distance t >= 0.
float keys_cubic(float t) {
  constexpr float a = -0.75f;
  if (t <= 1) return ((a + 2) * t - (a + 3)) * t * t + 1;
  if (t < 2) return ((a * t - 5 * a) * t + 8 * a) * t - 4 * a;
  return 0;
}

Taps make_taps(int in, int out, Interpolation mode, bool area_shrinks) {
  Taps taps;
  // NOTE: scale factors are formed in double exactly as OpenCV forms them (1 / (out / in)), so
  // that nearest-neighbour indices fall on the same side of every integer.
  const double scale = 1.0 / (double(out) / double(in)), inv_scale = double(out) / double(in);
  taps.k = mode == Interpolation::Nearest                ? 1
           : mode == Interpolation::Bicubic              ? 4
           : mode == Interpolation::Area && area_shrinks ? int(std::ceil(scale)) + 1
                                                         : 2;
  taps.index.assign(std::size_t(out) * taps.k, 0);
  taps.weight.assign(std::size_t(out) * taps.k, 0.0f);
  for (int i = 0; i < out; ++i) {
    int* idx = taps.index.data() + std::size_t(i) * taps.k;
    float* wt = taps.weight.data() + std::size_t(i) * taps.k;
    if (mode == Interpolation::Nearest) {
      idx[0] = std::min(int(std::floor(i * scale)), in - 1);
      wt[0] = 1;
    } else if (mode == Interpolation::Area && area_shrinks) {
      // The footprint [lo, hi) of output i; each source pixel weighs its overlap.
      const double lo = i * scale, hi = std::min(lo + scale, double(in));
      int t = 0;
      for (int s = int(std::floor(lo)); s < in && s < hi && t < taps.k; ++s) {
        const double overlap = std::min(hi, s + 1.0) - std::max(lo, double(s));
        if (overlap <= 0) continue;
        idx[t] = s;
        wt[t++] = float(overlap / (hi - lo));
      }
    } else {
      float f;
      int s;
      if (mode == Interpolation::Area) {  // enlarging: the share of the next source pixel
        s = int(std::floor(i * scale));
        f = float((i + 1) - (s + 1) * inv_scale);
        f = f <= 0 ? 0.0f : f - std::floor(f);
      } else {  // half-pixel centers
        f = float((i + 0.5) * scale - 0.5);
        s = int(std::floor(f));
        f -= float(s);
      }
      if (mode == Interpolation::Bicubic) {
        const float w0 = keys_cubic(1 + f), w1 = keys_cubic(f), w2 = keys_cubic(1 - f);
        const float w[4] = {w0, w1, w2, 1 - w0 - w1 - w2};
        for (int t = 0; t < 4; ++t) {
          idx[t] = std::clamp(s - 1 + t, 0, in - 1);
          wt[t] = w[t];
        }
      } else {  // two taps, the edge replicated
        if (s < 0) f = 0, s = 0;
        if (s >= in - 1) f = 0, s = in - 1;
        idx[0] = s, wt[0] = 1 - f;
        idx[1] = std::min(s + 1, in - 1), wt[1] = f;
      }
    }
  }
  return taps;
}

template <typename T>
float load(const T* p, std::int64_t i) {
  return float(p[i]);
}

template <typename T>
T store(float v) {
  if constexpr (std::is_same_v<T, std::uint8_t>)
    return std::uint8_t(std::clamp(std::nearbyint(v), 0.0f, 255.0f));
  else
    return v;
}

template <typename T>
void resize_planes(const T* src, T* dst, std::int64_t planes, int h, int w, int oh, int ow,
                   const Taps& ty, const Taps& tx) {
  // NOTE: one image (a loader worker's sample) stays on the calling thread: an OpenMP team per
  // worker would spin beside the training step's threads.
  const bool parallel = planes > 1 && planes * std::int64_t(oh) * ow >= (std::int64_t(1) << 18);
#pragma omp parallel if (parallel)
  {
    std::vector<float> rows(std::size_t(h) * ow);
    std::vector<float> line(static_cast<std::size_t>(ow));
#pragma omp for schedule(static)
    for (std::int64_t p = 0; p < planes; ++p) {
      const T* in = src + p * h * w;
      for (int r = 0; r < h; ++r)  // horizontal pass: rows [h, ow]
        for (int c = 0; c < ow; ++c) {
          float s = 0;
          for (int t = 0; t < tx.k; ++t) {
            const std::size_t j = std::size_t(c) * tx.k + t;
            s += tx.weight[j] * load(in, std::int64_t(r) * w + tx.index[j]);
          }
          rows[std::size_t(r) * ow + c] = s;
        }
      T* out = dst + p * oh * ow;
      for (int r = 0; r < oh; ++r) {  // vertical pass, whole rows at a time
        std::fill(line.begin(), line.end(), 0.0f);
        for (int t = 0; t < ty.k; ++t) {
          const std::size_t j = std::size_t(r) * ty.k + t;
          const float wt = ty.weight[j];
          const float* row = rows.data() + std::size_t(ty.index[j]) * ow;
#pragma omp simd
          for (int c = 0; c < ow; ++c) line[std::size_t(c)] += wt * row[c];
        }
        for (int c = 0; c < ow; ++c) out[std::int64_t(r) * ow + c] = store<T>(line[std::size_t(c)]);
      }
    }
  }
}

}  // namespace

void resize(const Tensor& src, const Tensor& dst, Interpolation mode) {
  const int rank = src.defined() ? src.rank() : 0;
  if ((rank != 3 && rank != 4) || !dst.defined() || dst.rank() != rank)
    fail("resize: expected src and dst of rank 3 [C, H, W] or 4 [N, C, H, W], got {} and {}",
         src.defined() ? src.shape().str() : "nothing",
         dst.defined() ? dst.shape().str() : "nothing");
  if (src.dtype() != dst.dtype() || (src.dtype() != DType::u8 && src.dtype() != DType::f32))
    fail("resize: src and dst must both be u8 or both f32");
  if (!src.is_contiguous() || !dst.is_contiguous()) fail("resize: src and dst must be contiguous");
  for (int i = 0; i < rank - 2; ++i)
    if (src.dim(i) != dst.dim(i))
      fail("resize: dst {} must keep the leading dims of src {}", dst.shape().str(),
           src.shape().str());
  const int h = int(src.dim(-2)), w = int(src.dim(-1)), oh = int(dst.dim(-2)),
            ow = int(dst.dim(-1));
  if (h <= 0 || w <= 0 || oh <= 0 || ow <= 0)
    fail("resize: sizes must be positive, got {} -> {}", src.shape().str(), dst.shape().str());
  const std::int64_t planes = src.numel() / (std::int64_t(h) * w);
  const bool shrinks = h >= oh && w >= ow;  // INTER_AREA averages only when both axes shrink
  const Taps ty = make_taps(h, oh, mode, shrinks), tx = make_taps(w, ow, mode, shrinks);
  if (src.dtype() == DType::u8)
    resize_planes(static_cast<const std::uint8_t*>(src.raw()),
                  static_cast<std::uint8_t*>(dst.raw()), planes, h, w, oh, ow, ty, tx);
  else
    resize_planes(src.data<float>(), dst.data<float>(), planes, h, w, oh, ow, ty, tx);
}

}  // namespace convkit::data
