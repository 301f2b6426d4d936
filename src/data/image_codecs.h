// Internal: the per-format decoders behind data::decode_image and data::probe_image (image_file.h),
// one file each: jpeg.cpp (libjpeg-turbo), png.cpp (libpng), netpbm.cpp. Each takes the whole
// encoded image (already identified by its magic bytes) and a source name for its errors, and
// returns u8 [C, H, W] with C = 1 or 3.
#pragma once

#include <convkit/data/image_file.h>

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

namespace convkit::data::detail {

// The largest image any decoder allocates (pixels), checked from the header before allocating.
inline constexpr std::int64_t kMaxImagePixels = std::int64_t(1) << 28;

Tensor decode_jpeg(std::span<const std::byte> bytes, const std::string& source,
                   const DecodeHints& hints);
ImageInfo probe_jpeg(std::span<const std::byte> bytes, const std::string& source);

Tensor decode_png(std::span<const std::byte> bytes, const std::string& source);
ImageInfo probe_png(std::span<const std::byte> bytes, const std::string& source);

Tensor decode_netpbm(std::span<const std::byte> bytes, const std::string& source);
ImageInfo probe_netpbm(std::span<const std::byte> bytes, const std::string& source);

}  // namespace convkit::data::detail
