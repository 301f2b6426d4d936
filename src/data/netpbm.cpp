// Netpbm decoding: PGM/PPM, P2/P3 (ASCII) and P5/P6 (binary), maximum value up to 65535 (scaled
// to 0..255). Output u8 [C, H, W], C = 1 (PGM) or 3 (PPM).
#include <convkit/util/error.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <sstream>
#include <string>

#include "data/image_codecs.h"

namespace convkit::data::detail {
namespace {

struct Header {
  bool ascii = false, color = false;
  long width = 0, height = 0, maxval = 0;
};

// Reads the header from `in`, leaving it at the whitespace before the raster.
Header read_header(std::istream& in, const std::string& source) {
  std::string magic;
  in >> magic;
  Header header;
  header.ascii = magic == "P2" || magic == "P3";
  header.color = magic == "P3" || magic == "P6";
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
  header.width = read_number("width");
  header.height = read_number("height");
  header.maxval = read_number("maximum value");
  return header;
}

std::istringstream stream_of(std::span<const std::byte> bytes) {
  return std::istringstream(std::string(reinterpret_cast<const char*>(bytes.data()), bytes.size()),
                            std::ios::binary);
}

}  // namespace

ImageInfo probe_netpbm(std::span<const std::byte> bytes, const std::string& source) {
  // The header is in the first few bytes unless comments make it long: then the whole file.
  constexpr std::size_t kPrefix = 4096;
  Header header;
  try {
    std::istringstream in = stream_of(bytes.first(std::min(bytes.size(), kPrefix)));
    header = read_header(in, source);
  } catch (const Error&) {
    if (bytes.size() <= kPrefix) throw;
    std::istringstream in = stream_of(bytes);
    header = read_header(in, source);
  }
  return {ImageFormat::Netpbm, header.color ? 3 : 1, header.height, header.width};
}

Tensor decode_netpbm(std::span<const std::byte> bytes, const std::string& source) {
  std::istringstream in = stream_of(bytes);
  const Header header = read_header(in, source);
  const long w = header.width, h = header.height, maxval = header.maxval;
  // NOTE: each side bounded before the product, which could otherwise overflow (found by fuzzing).
  if (maxval > 65535 || w > kMaxImagePixels || h > kMaxImagePixels || w * h > kMaxImagePixels)
    fail("{}: unsupported Netpbm image ({}x{}, max {})", source, w, h, maxval);
  const std::int64_t c = header.color ? 3 : 1;
  Tensor out = Tensor::empty({c, h, w}, DType::u8);
  auto* o = out.data<std::uint8_t>();
  auto scale = [&](long v) {
    return std::uint8_t(std::lround(double(std::min(v, maxval)) * 255.0 / double(maxval)));
  };
  if (!header.ascii) in.get();  // the single whitespace byte before the raster
  for (long y = 0; y < h; ++y)
    for (long x = 0; x < w; ++x)
      for (std::int64_t k = 0; k < c; ++k) {
        long v = 0;
        if (header.ascii) {
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

}  // namespace convkit::data::detail
