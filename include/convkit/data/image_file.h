// Reading images as users have them: JPEG (libjpeg-turbo: gray, YCbCr/RGB, CMYK/YCCK, baseline and
// progressive), PNG (libpng: 1-16 bit gray, gray+alpha, RGB, RGBA, palette, interlaced) and Netpbm
// PGM/PPM (P2, P3, P5, P6). The format is told by the first bytes, never by the file name.
// Decoded images are u8 [C, H, W] with C = 1 (gray) or 3 (RGB): 16-bit samples are scaled to 8
// bits, alpha is composited onto black, CMYK is converted to RGB. Pixels are taken as stored: no
// gamma (PNG gAMA) or ICC conversion, no EXIF rotation (as PIL, torchvision and OpenCV read them).
// Every failure is an Error naming the source and the problem: missing or unreadable file, empty
// file, not an image, truncated or corrupt data, absurd dimensions.
#pragma once

#include <convkit/tensor/tensor.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>

namespace convkit::data {

enum class ImageFormat { Jpeg, Png, Netpbm };
std::string_view format_name(ImageFormat format);  // "JPEG", "PNG", "PNM"

// What an image's header says, read without decoding the pixels.
struct ImageInfo {
  ImageFormat format = ImageFormat::Png;
  std::int64_t channels = 0;  // what decode_image returns: 1 (gray) or 3 (RGB)
  std::int64_t height = 0;    // the full size, before any DecodeHints reduction
  std::int64_t width = 0;
};

// Hints for a decoder whose output will be resized anyway. With min_height/min_width set, a JPEG
// is decoded at a reduced size by libjpeg's DCT scaling (1/2, 1/4 or 1/8: the largest reduction
// whose output is still >= min_height x min_width; PIL's "draft" mode), which costs about the
// reduction squared less. 0 leaves that side unconstrained; both 0 (the default) is full size.
// Other formats are always decoded at full size: the result may be larger than asked, never
// smaller (unless the image itself is).
struct DecodeHints {
  std::int64_t min_height = 0;
  std::int64_t min_width = 0;
};

Tensor read_image(const std::filesystem::path& path, const DecodeHints& hints = {});
// The same from the file's bytes in memory; `source` names the image in errors.
Tensor decode_image(std::span<const std::byte> bytes, const std::string& source = "image",
                    const DecodeHints& hints = {});

// The header only (format, size, channels): cheap, for scanning a folder. The file version
// reads the first 64 KiB (more only when the header does not fit in them).
ImageInfo probe_image(std::span<const std::byte> bytes, const std::string& source = "image");
ImageInfo probe_image(const std::filesystem::path& path);

// Converts channels (RGB -> gray with ITU-R BT.601 luma weights, gray -> RGB by replication)
// and resizes with bilinear interpolation (half-pixel centers, as OpenCV's INTER_LINEAR) to
// u8 [channels, height, width].
Tensor fit_image(const Tensor& image, std::int64_t channels, std::int64_t height,
                 std::int64_t width);

}  // namespace convkit::data
