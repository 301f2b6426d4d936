// PNG encoding (libpng's simplified write API) and image grids, for TensorBoard image summaries,
// the HTML report's inline images and preview files. Images are u8 [C, H, W] (C = channels:
// 1 gray, 2 gray+alpha, 3 RGB, 4 RGBA; H = height, W = width).
#pragma once

#include <convkit/tensor/tensor.h>

#include <cstdint>
#include <filesystem>
#include <span>
#include <string>

namespace convkit::io {

// The PNG file bytes of `image` (u8 [C, H, W], contiguous). The output depends only on the
// pixels (no timestamps), so the same image always encodes to the same bytes.
std::string encode_png(const Tensor& image);

// encode_png written to `path` (not atomically; Error names the path on failure).
void write_png(const std::filesystem::path& path, const Tensor& image);

struct GridOptions {
  int columns = 8;
  int padding = 2;               // pixels between and around the tiles
  std::uint8_t background = 64;  // value of the padding pixels (every channel)
};

// Tiles the images `indices` of a batch u8 [N, C, H, W] into one u8 [C, rows * (H + p) + p,
// columns * (W + p) + p] image, row by row (rows = ceil(count / columns); columns shrinks to
// the count when fewer images are given). An empty `indices` is an Error.
Tensor image_grid(const Tensor& images, std::span<const std::int64_t> indices,
                  const GridOptions& options = {});

}  // namespace convkit::io
