// Reading single images for prediction: PNG (8/16-bit gray, gray+alpha, RGB, RGBA, palette) and
// Netpbm PGM/PPM (P2, P3, P5, P6). Returned as u8 [C, H, W] with C = 1 (gray) or 3 (RGB).
#pragma once

#include <convkit/tensor/tensor.h>

#include <cstddef>
#include <filesystem>
#include <span>
#include <string>

namespace convkit::data {

Tensor read_image(const std::filesystem::path& path);
// The same from the file's bytes in memory; `source` names the image in errors.
Tensor decode_image(std::span<const std::byte> bytes, const std::string& source = "image");

// Converts channels (RGB -> gray with ITU-R BT.601 luma weights, gray -> RGB by replication)
// and resizes with bilinear interpolation (half-pixel centers, as OpenCV's INTER_LINEAR) to
// u8 [channels, height, width].
Tensor fit_image(const Tensor& image, std::int64_t channels, std::int64_t height,
                 std::int64_t width);

}  // namespace convkit::data
