// Channel replication (grey -> RGB) and u8 -> f32 normalization (see
// include/convkit/data/augment.h).
#include <convkit/data/augment.h>

#include <cmath>
#include <cstring>
#include <vector>

namespace convkit::data {

void replicate_channels(const Tensor& src, const Tensor& dst) {
  if (!src.defined() || !dst.defined() || src.rank() != 4 || src.dim(1) != 1 || dst.rank() != 4 ||
      dst.shape() != Shape{src.dim(0), 3, src.dim(2), src.dim(3)})
    fail("replicate_channels: expected src [N, 1, H, W] and dst [N, 3, H, W], got {} and {}",
         src.defined() ? src.shape().str() : "nothing",
         dst.defined() ? dst.shape().str() : "nothing");
  if (src.dtype() != dst.dtype() || !src.is_contiguous() || !dst.is_contiguous())
    fail("replicate_channels: src and dst must be contiguous and of one dtype");
  const std::size_t plane = std::size_t(src.dim(2) * src.dim(3)) * size_of(src.dtype());
  const auto* in = static_cast<const std::uint8_t*>(src.raw());
  auto* out = static_cast<std::uint8_t*>(dst.raw());
  for (std::int64_t n = 0; n < src.dim(0); ++n)
    for (int k = 0; k < 3; ++k) std::memcpy(out + (n * 3 + k) * plane, in + n * plane, plane);
}

std::vector<float> normalization_table(std::int64_t c, std::span<const float> mean,
                                       std::span<const float> std) {
  for (const auto* v : {&mean, &std})
    if (v->size() != 1 && std::int64_t(v->size()) != c)
      fail("normalize: mean and std need 1 or {} values (one per channel), got {}", c, v->size());
  std::vector<float> lut(std::size_t(c) * 256);
  for (std::int64_t k = 0; k < c; ++k) {
    const float m = mean[mean.size() == 1 ? 0 : std::size_t(k)],
                s = std[std.size() == 1 ? 0 : std::size_t(k)];
    if (!(std::isfinite(s) && s != 0.0f)) fail("normalize: std {} must be finite and nonzero", s);
    for (int v = 0; v < 256; ++v) lut[std::size_t(k * 256 + v)] = (float(v) / 255.0f - m) / s;
  }
  return lut;
}

void normalize(const Tensor& src_u8, const Tensor& dst_f32, std::span<const float> mean,
               std::span<const float> std) {
  if (!src_u8.defined() || src_u8.dtype() != DType::u8 || src_u8.rank() != 4 ||
      !src_u8.is_contiguous())
    fail("normalize: src must be contiguous u8 [N, C, H, W]");
  if (!dst_f32.defined() || dst_f32.dtype() != DType::f32 || dst_f32.shape() != src_u8.shape() ||
      !dst_f32.is_contiguous())
    fail("normalize: dst must be contiguous f32 {}", src_u8.shape().str());
  const std::int64_t c = src_u8.dim(1), hw = src_u8.dim(2) * src_u8.dim(3);
  const std::vector<float> lut = normalization_table(c, mean, std);
  const auto* in = static_cast<const std::uint8_t*>(src_u8.raw());
  float* out = dst_f32.data<float>();
  for (std::int64_t p = 0; p < src_u8.dim(0) * c; ++p) {
    const float* table = lut.data() + (p % c) * 256;
    for (std::int64_t i = 0; i < hw; ++i) out[p * hw + i] = table[in[p * hw + i]];
  }
}

}  // namespace convkit::data
