// PNG (libpng) and Netpbm readers, channel conversion and bilinear resize (see image_file.h).
#include <convkit/data/image_file.h>

#include <png.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

namespace convkit::data {

namespace {

Tensor decode_png(std::span<const std::byte> bytes, const std::string& source) {
  png_image image;
  std::memset(&image, 0, sizeof image);
  image.version = PNG_IMAGE_VERSION;
  if (!png_image_begin_read_from_memory(&image, bytes.data(), bytes.size()))
    fail("{}: not a valid PNG ({})", source, image.message);
  const bool color = (image.format & PNG_FORMAT_FLAG_COLOR) != 0;
  image.format = color ? PNG_FORMAT_RGB : PNG_FORMAT_GRAY;  // alpha composited onto black
  const std::int64_t c = color ? 3 : 1, h = image.height, w = image.width;
  if (h <= 0 || w <= 0 || h * w > (1 << 28)) {
    png_image_free(&image);
    fail("{}: unsupported PNG size {}x{}", source, w, h);
  }
  std::vector<std::uint8_t> hwc(std::size_t(c * h * w));
  png_color black{0, 0, 0};
  if (!png_image_finish_read(&image, &black, hwc.data(), 0, nullptr)) {
    std::string message = image.message;
    png_image_free(&image);
    fail("{}: cannot decode PNG ({})", source, message);
  }
  Tensor out = Tensor::empty({c, h, w}, DType::u8);
  auto* o = out.data<std::uint8_t>();
  for (std::int64_t y = 0; y < h; ++y)
    for (std::int64_t x = 0; x < w; ++x)
      for (std::int64_t k = 0; k < c; ++k)
        o[(k * h + y) * w + x] = hwc[std::size_t((y * w + x) * c + k)];
  return out;
}

// Netpbm: P2/P3 (ASCII) and P5/P6 (binary), maxval up to 65535 (scaled to 0..255).
Tensor decode_netpbm(std::span<const std::byte> bytes, const std::string& source) {
  std::istringstream in(std::string(reinterpret_cast<const char*>(bytes.data()), bytes.size()),
                        std::ios::binary);
  std::string magic;
  in >> magic;
  const bool ascii = magic == "P2" || magic == "P3", color = magic == "P3" || magic == "P6";
  auto read_number = [&](const char* what) {
    in >> std::ws;
    while (in.peek() == '#') {
      std::string comment;
      std::getline(in, comment);
      in >> std::ws;
    }
    long v = -1;
    if (!(in >> v) || v <= 0) fail("{}: bad Netpbm header: expected the {}", source, what);
    return v;
  };
  const long w = read_number("width"), h = read_number("height"),
             maxval = read_number("maximum value");
  // NOTE: each side bounded before the product, which could otherwise overflow (found by fuzzing).
  if (maxval > 65535 || w > (1L << 28) || h > (1L << 28) || w * h > (1L << 28))
    fail("{}: unsupported Netpbm image ({}x{}, max {})", source, w, h, maxval);
  const std::int64_t c = color ? 3 : 1;
  Tensor out = Tensor::empty({c, h, w}, DType::u8);
  auto* o = out.data<std::uint8_t>();
  auto scale = [&](long v) {
    return std::uint8_t(std::lround(double(std::min(v, maxval)) * 255.0 / double(maxval)));
  };
  if (!ascii) in.get();  // the single whitespace byte before the raster
  for (long y = 0; y < h; ++y)
    for (long x = 0; x < w; ++x)
      for (std::int64_t k = 0; k < c; ++k) {
        long v = 0;
        if (ascii) {
          if (!(in >> v)) fail("{}: truncated pixel data at pixel {}", source, y * w + x);
        } else {
          int hi = in.get(), lo = maxval > 255 ? in.get() : 0;
          if (!in) fail("{}: truncated pixel data at pixel {} of {}", source, y * w + x, w * h);
          v = maxval > 255 ? (hi << 8 | lo) : hi;
        }
        o[(k * h + y) * w + x] = scale(v);
      }
  return out;
}

}  // namespace

Tensor decode_image(std::span<const std::byte> bytes, const std::string& source) {
  const auto* head = reinterpret_cast<const unsigned char*>(bytes.data());
  if (bytes.size() >= 8 && !std::memcmp(head, "\x89PNG\r\n\x1a\n", 8))
    return decode_png(bytes, source);
  if (bytes.size() >= 2 && head[0] == 'P' &&
      (head[1] == '2' || head[1] == '3' || head[1] == '5' || head[1] == '6'))
    return decode_netpbm(bytes, source);
  fail("{}: unsupported image format (expected PNG or PGM/PPM)", source);
}

Tensor read_image(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail("{}: cannot open image (no such file or no permission)", path.string());
  std::ostringstream content;
  content << in.rdbuf();
  const std::string bytes = std::move(content).str();
  return decode_image(std::as_bytes(std::span(bytes.data(), bytes.size())), path.string());
}

Tensor fit_image(const Tensor& image, std::int64_t channels, std::int64_t height,
                 std::int64_t width) {
  const std::int64_t c = image.dim(0), h = image.dim(1), w = image.dim(2);
  const auto* src = image.data<std::uint8_t>();
  // Channel conversion to float planes.
  std::vector<float> planes(std::size_t(channels * h * w));
  for (std::int64_t i = 0; i < h * w; ++i) {
    if (c == channels) {
      for (std::int64_t k = 0; k < c; ++k) planes[std::size_t(k * h * w + i)] = src[k * h * w + i];
    } else if (c == 3 && channels == 1) {
      planes[std::size_t(i)] =
          0.299f * src[i] + 0.587f * src[h * w + i] + 0.114f * src[2 * h * w + i];
    } else if (c == 1 && channels == 3) {
      for (int k = 0; k < 3; ++k) planes[std::size_t(k * h * w + i)] = src[i];
    } else {
      fail("cannot convert an image of {} channels to {}", c, channels);
    }
  }
  Tensor out = Tensor::empty({channels, height, width}, DType::u8);
  auto* o = out.data<std::uint8_t>();
  const float sy = float(h) / float(height), sx = float(w) / float(width);
  for (std::int64_t k = 0; k < channels; ++k)
    for (std::int64_t y = 0; y < height; ++y) {
      const float fy = std::clamp((float(y) + 0.5f) * sy - 0.5f, 0.0f, float(h - 1));
      const std::int64_t y0 = std::int64_t(fy), y1 = std::min(y0 + 1, h - 1);
      const float wy = fy - float(y0);
      for (std::int64_t x = 0; x < width; ++x) {
        const float fx = std::clamp((float(x) + 0.5f) * sx - 0.5f, 0.0f, float(w - 1));
        const std::int64_t x0 = std::int64_t(fx), x1 = std::min(x0 + 1, w - 1);
        const float wx = fx - float(x0);
        const float* p = planes.data() + k * h * w;
        const float v = (1 - wy) * ((1 - wx) * p[y0 * w + x0] + wx * p[y0 * w + x1]) +
                        wy * ((1 - wx) * p[y1 * w + x0] + wx * p[y1 * w + x1]);
        o[(k * height + y) * width + x] = std::uint8_t(std::clamp(std::lround(v), 0L, 255L));
      }
    }
  return out;
}

}  // namespace convkit::data
