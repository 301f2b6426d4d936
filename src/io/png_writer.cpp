// PNG encoder and image grid (see png_writer.h).
#include <convkit/io/png_writer.h>

#include <png.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <vector>

namespace convkit::io {

namespace {

void check_image(const Tensor& image, const char* what) {
  if (!image.defined() || image.dtype() != DType::u8 || image.rank() != 3 || !image.is_contiguous())
    fail("{}: expected a contiguous u8 [C, H, W] image, got {} {}", what,
         image.defined() ? std::string(name_of(image.dtype())) : std::string("undefined"),
         image.defined() ? image.shape().str() : std::string());
  const std::int64_t c = image.dim(0), h = image.dim(1), w = image.dim(2);
  if (c < 1 || c > 4)
    fail("{}: images need 1 to 4 channels (gray, gray+alpha, RGB, RGBA), got {}", what, c);
  if (h < 1 || w < 1 || h > 65535 || w > 65535)
    fail("{}: unsupported image size {}x{}", what, w, h);
}

}  // namespace

std::string encode_png(const Tensor& image) {
  check_image(image, "encode_png");
  const std::int64_t c = image.dim(0), h = image.dim(1), w = image.dim(2);
  // NOTE: libpng's simplified API takes interleaved rows (HWC); our tensors are planar (CHW).
  std::vector<std::uint8_t> hwc(std::size_t(c * h * w));
  const auto* src = image.data<std::uint8_t>();
  for (std::int64_t k = 0; k < c; ++k)
    for (std::int64_t i = 0; i < h * w; ++i) hwc[std::size_t(i * c + k)] = src[k * h * w + i];

  png_image png;
  std::memset(&png, 0, sizeof png);
  png.version = PNG_IMAGE_VERSION;
  png.width = png_uint_32(w);
  png.height = png_uint_32(h);
  static constexpr png_uint_32 kFormats[] = {PNG_FORMAT_GRAY, PNG_FORMAT_GA, PNG_FORMAT_RGB,
                                             PNG_FORMAT_RGBA};
  png.format = kFormats[c - 1];
  png_alloc_size_t size = 0;
  if (!png_image_write_to_memory(&png, nullptr, &size, 0, hwc.data(), 0, nullptr))
    fail("encode_png: cannot size a {}x{} PNG ({})", w, h, png.message);
  std::string out(size, '\0');
  if (!png_image_write_to_memory(&png, out.data(), &size, 0, hwc.data(), 0, nullptr))
    fail("encode_png: cannot encode a {}x{} PNG ({})", w, h, png.message);
  out.resize(size);
  return out;
}

void write_png(const std::filesystem::path& path, const Tensor& image) {
  const std::string bytes = encode_png(image);
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) fail("{}: cannot open for writing", path.string());
  const bool ok = std::fwrite(bytes.data(), 1, bytes.size(), f) == bytes.size();
  if (std::fclose(f) != 0 || !ok) fail("{}: cannot write the PNG", path.string());
}

Tensor image_grid(const Tensor& images, std::span<const std::int64_t> indices,
                  const GridOptions& options) {
  if (!images.defined() || images.dtype() != DType::u8 || images.rank() != 4 ||
      !images.is_contiguous())
    fail("image_grid: expected contiguous u8 [N, C, H, W] images");
  if (indices.empty()) fail("image_grid: no images to tile");
  if (options.columns < 1 || options.padding < 0)
    fail("image_grid: columns must be >= 1 and padding >= 0");
  const std::int64_t n = images.dim(0), c = images.dim(1), h = images.dim(2), w = images.dim(3);
  const std::int64_t count = std::int64_t(indices.size());
  const std::int64_t cols = std::min<std::int64_t>(options.columns, count);
  const std::int64_t rows = (count + cols - 1) / cols, p = options.padding;
  const std::int64_t gh = rows * (h + p) + p, gw = cols * (w + p) + p;
  Tensor grid = Tensor::empty({c, gh, gw}, DType::u8);
  auto* g = grid.data<std::uint8_t>();
  std::memset(g, options.background, std::size_t(c * gh * gw));
  const auto* src = images.data<std::uint8_t>();
  for (std::int64_t t = 0; t < count; ++t) {
    const std::int64_t i = indices[std::size_t(t)];
    if (i < 0 || i >= n) fail("image_grid: index {} out of range for {} images", i, n);
    const std::int64_t y0 = p + (t / cols) * (h + p), x0 = p + (t % cols) * (w + p);
    for (std::int64_t k = 0; k < c; ++k)
      for (std::int64_t y = 0; y < h; ++y)
        std::memcpy(g + (k * gh + y0 + y) * gw + x0, src + ((i * c + k) * h + y) * w,
                    std::size_t(w));
  }
  return grid;
}

}  // namespace convkit::io
