// Resize policies, RandomResizedCrop and channel conversion of one decoded image (geometry.h).
// The crop is copied into per-thread scratch, resized at the image's own channel count, then
// converted to the sample's channels (both conversions are linear, so the order only changes
// rounding, and converting the smaller image is cheaper).
#include <convkit/data/augment.h>
#include <convkit/data/geometry.h>
#include <convkit/util/error.h>

#include "data/transforms/sample_rng.h"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace convkit::data {

namespace {

// A scratch tensor of `shape` (reallocated only when it must grow).
Tensor& scratch_tensor(Tensor& t, const Shape& shape) {
  if (!t.defined() || t.numel() < shape.numel())
    t = Tensor::empty({std::max<std::int64_t>(shape.numel(), 1)}, DType::u8);
  return t;
}

Tensor view_of(const Tensor& storage, const Shape& shape) {
  return Tensor::wrap(storage.raw(), shape, DType::u8);
}

// Rows [top, top + h) and columns [left, left + w) of every channel, into a contiguous tensor.
Tensor crop_into(const Tensor& image, const CropBox& box, Tensor& storage) {
  const std::int64_t c = image.dim(0), ih = image.dim(1), iw = image.dim(2);
  if (box.top == 0 && box.left == 0 && box.height == ih && box.width == iw) return image;
  Tensor out =
      view_of(scratch_tensor(storage, {c, box.height, box.width}), {c, box.height, box.width});
  const auto* src = static_cast<const std::uint8_t*>(image.raw());
  auto* dst = static_cast<std::uint8_t*>(out.raw());
  for (std::int64_t k = 0; k < c; ++k)
    for (std::int64_t y = 0; y < box.height; ++y)
      std::memcpy(dst + (k * box.height + y) * box.width,
                  src + (k * ih + box.top + y) * iw + box.left, std::size_t(box.width));
  return out;
}

// Converts u8 [C', H, W] to u8 [C, H, W] (C', C in {1, 3}).
void convert_channels(const Tensor& in, const Tensor& out) {
  const std::int64_t ci = in.dim(0), co = out.dim(0), hw = in.dim(1) * in.dim(2);
  const auto* src = static_cast<const std::uint8_t*>(in.raw());
  auto* dst = static_cast<std::uint8_t*>(out.raw());
  if (ci == co) {
    std::memcpy(dst, src, std::size_t(co * hw));
  } else if (ci == 1) {
    for (std::int64_t k = 0; k < co; ++k) std::memcpy(dst + k * hw, src, std::size_t(hw));
  } else {
    for (std::int64_t j = 0; j < hw; ++j) {
      const float luma = 0.299f * src[j] + 0.587f * src[hw + j] + 0.114f * src[2 * hw + j];
      dst[j] = std::uint8_t(std::min(255.0f, luma + 0.5f));
    }
  }
}

}  // namespace

void validate(const Geometry& g, const std::string& key) {
  if (g.channels != 1 && g.channels != 3)
    fail("{}: {} channels: expected 1 (grey) or 3 (RGB)", key, g.channels);
  if (g.height < 1 || g.width < 1 || g.height > 8192 || g.width > 8192)
    fail("{}: size {}x{} is out of range: expected 1 to 8192 pixels a side", key, g.height,
         g.width);
  if (!(g.crop_fraction > 0.0f && g.crop_fraction <= 1.0f))
    fail("{}.crop_fraction: {} is out of range: expected (0, 1]", key, g.crop_fraction);
  const auto& r = g.random_crop;
  if (r.enabled) {
    if (!(r.scale.lo > 0 && r.scale.lo <= r.scale.hi && r.scale.hi <= 1))
      fail("{}.random_resized_crop.scale: [{}, {}] is out of range: expected 0 < lo <= hi <= 1",
           key, r.scale.lo, r.scale.hi);
    if (!(r.ratio.lo > 0 && r.ratio.lo <= r.ratio.hi && std::isfinite(r.ratio.hi)))
      fail("{}.random_resized_crop.ratio: [{}, {}] is out of range: expected 0 < lo <= hi", key,
           r.ratio.lo, r.ratio.hi);
  }
}

ResizePolicy parse_resize_policy(const std::string& name) {
  if (name == "stretch") return ResizePolicy::Stretch;
  if (name == "center_crop") return ResizePolicy::CenterCrop;
  if (name == "letterbox") return ResizePolicy::Letterbox;
  fail("unknown resize policy '{}': expected stretch, center_crop or letterbox", name);
}

Interpolation parse_interpolation(const std::string& name) {
  if (name == "nearest") return Interpolation::Nearest;
  if (name == "bilinear") return Interpolation::Bilinear;
  if (name == "bicubic") return Interpolation::Bicubic;
  if (name == "area") return Interpolation::Area;
  fail("unknown interpolation '{}': expected nearest, bilinear, bicubic or area", name);
}

CropBox random_resized_crop_box(std::int64_t h, std::int64_t w, const RandomResizedCropOptions& o,
                                std::uint64_t seed, std::uint64_t epoch, std::uint64_t index) {
  const transforms::SampleRng rng(
      transforms::batch_key(derive_key(seed, "data.random_resized_crop"), epoch, 0), index);
  const double area = double(h) * double(w);
  const double log_lo = std::log(double(o.ratio.lo)), log_hi = std::log(double(o.ratio.hi));
  for (int attempt = 0; attempt < 10; ++attempt) {
    const auto d = rng.block(std::uint64_t(attempt));
    const double target = area * (o.scale.lo + (o.scale.hi - o.scale.lo) * uniform01(d[0]));
    const double ratio = std::exp(log_lo + (log_hi - log_lo) * uniform01(d[1]));
    const auto cw = std::int64_t(std::llround(std::sqrt(target * ratio)));
    const auto ch = std::int64_t(std::llround(std::sqrt(target / ratio)));
    if (cw > 0 && ch > 0 && cw <= w && ch <= h) {
      const std::int64_t top = std::int64_t(std::uint64_t(d[2]) * std::uint64_t(h - ch + 1) >> 32);
      const std::int64_t left = std::int64_t(std::uint64_t(d[3]) * std::uint64_t(w - cw + 1) >> 32);
      return {top, left, ch, cw};
    }
  }
  // Fallback (torchvision's): the centre crop of the whole image clamped to the ratio range.
  const double in_ratio = double(w) / double(h);
  std::int64_t cw = w, ch = h;
  if (in_ratio < o.ratio.lo) {
    ch = std::int64_t(std::llround(double(w) / o.ratio.lo));
  } else if (in_ratio > o.ratio.hi) {
    cw = std::int64_t(std::llround(double(h) * o.ratio.hi));
  }
  ch = std::clamp<std::int64_t>(ch, 1, h);
  cw = std::clamp<std::int64_t>(cw, 1, w);
  return {(h - ch) / 2, (w - cw) / 2, ch, cw};
}

void prepare_image(const Tensor& image, const Geometry& g, const Tensor& out,
                   GeometryScratch& scratch, bool train, std::uint64_t seed, std::uint64_t epoch,
                   std::uint64_t index) {
  if (image.dtype() != DType::u8 || image.rank() != 3 || (image.dim(0) != 1 && image.dim(0) != 3))
    fail("prepare_image: expected an image u8 [1 or 3, H, W], got {} {}", name_of(image.dtype()),
         image.shape().str());
  if (out.dtype() != DType::u8 || out.shape() != g.shape())
    fail("prepare_image: output must be u8 {}, got {} {}", g.shape().str(), name_of(out.dtype()),
         out.shape().str());
  const Tensor src = image.is_contiguous() ? image : image.clone();
  const std::int64_t c = src.dim(0), ih = src.dim(1), iw = src.dim(2);
  const std::int64_t oh = g.height, ow = g.width;
  // The source box and where it lands in the output (all of it, except with Letterbox).
  CropBox box{0, 0, ih, iw};
  std::int64_t dh = oh, dw = ow;
  if (train && g.random_crop.enabled) {
    box = random_resized_crop_box(ih, iw, g.random_crop, seed, epoch, index);
  } else if (g.resize == ResizePolicy::CenterCrop) {
    // The resized image has its shorter side at max(oh, ow) / crop_fraction; the crop of oh x ow
    // from it corresponds to this box of the source.
    const double scale =
        std::max(double(oh) / double(ih), double(ow) / double(iw)) / double(g.crop_fraction);
    box.height = std::clamp<std::int64_t>(std::llround(double(oh) / scale), 1, ih);
    box.width = std::clamp<std::int64_t>(std::llround(double(ow) / scale), 1, iw);
    box.top = (ih - box.height) / 2;
    box.left = (iw - box.width) / 2;
  } else if (g.resize == ResizePolicy::Letterbox) {
    const double scale = std::min(double(oh) / double(ih), double(ow) / double(iw));
    dh = std::clamp<std::int64_t>(std::llround(double(ih) * scale), 1, oh);
    dw = std::clamp<std::int64_t>(std::llround(double(iw) * scale), 1, ow);
  }
  const Tensor cropped = crop_into(src, box, scratch.crop);
  // Resize at the source's channel count, straight into `out` when no conversion or padding.
  const bool direct = c == g.channels && dh == oh && dw == ow;
  const Tensor resized =
      direct ? out : view_of(scratch_tensor(scratch.resized, {c, dh, dw}), {c, dh, dw});
  if (cropped.dim(1) == dh && cropped.dim(2) == dw)
    resized.copy_from(cropped);
  else
    resize(cropped, resized, g.interpolation);
  if (direct) return;
  if (dh == oh && dw == ow) {
    convert_channels(resized, out);
    return;
  }
  // Letterbox: fill, then place the converted image at the centre.
  std::memset(out.raw(), g.fill, out.nbytes());
  Tensor placed = Tensor::empty({g.channels, dh, dw}, DType::u8);
  convert_channels(resized, placed);
  const std::int64_t top = (oh - dh) / 2, left = (ow - dw) / 2;
  const auto* p = static_cast<const std::uint8_t*>(placed.raw());
  auto* o = static_cast<std::uint8_t*>(out.raw());
  for (std::int64_t k = 0; k < g.channels; ++k)
    for (std::int64_t y = 0; y < dh; ++y)
      std::memcpy(o + (k * oh + top + y) * ow + left, p + (k * dh + y) * dw, std::size_t(dw));
}

}  // namespace convkit::data
