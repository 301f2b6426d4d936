// Reading images: telling the format from the first bytes, reading files with errors that say
// what went wrong, and dispatching to the decoders (jpeg.cpp, png.cpp, netpbm.cpp); channel
// conversion and bilinear resize (fit_image). See image_file.h.
#include <convkit/data/image_file.h>
#include <convkit/util/error.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "data/image_codecs.h"

namespace convkit::data {

namespace {

// Formats we recognise but do not read, to say which one a file is.
std::optional<std::string_view> unsupported_format(std::span<const std::byte> bytes) {
  const auto* b = reinterpret_cast<const unsigned char*>(bytes.data());
  const std::size_t n = bytes.size();
  auto starts = [&](std::size_t at, std::string_view s) {
    return n >= at + s.size() && !std::memcmp(b + at, s.data(), s.size());
  };
  if (starts(0, "GIF87a") || starts(0, "GIF89a")) return "GIF";
  if (starts(0, "RIFF") && starts(8, "WEBP")) return "WebP";
  if (starts(0, std::string_view("II*\0", 4)) || starts(0, std::string_view("MM\0*", 4)))
    return "TIFF";
  if (starts(4, "ftypavif") || starts(4, "ftypavis")) return "AVIF";
  if (starts(4, "ftypheic") || starts(4, "ftypheix") || starts(4, "ftypmif1")) return "HEIF";
  if (starts(0, "BM") && n >= 18) {  // BMP: the DIB header size tells it from text starting "BM"
    const unsigned dib = b[14] | b[15] << 8 | b[16] << 16 | unsigned(b[17]) << 24;
    if (dib == 12 || dib == 40 || dib == 52 || dib == 56 || dib == 108 || dib == 124) return "BMP";
  }
  if (n >= 3 && b[0] == 'P' && (b[1] == '1' || b[1] == '4') && std::isspace(b[2]))
    return "PBM (bitmap)";
  if (starts(0, "P7\n")) return "PAM";
  return std::nullopt;
}

// The first bytes as text for a message: 'hell', or '\x00\x01' where not printable.
std::string first_bytes(std::span<const std::byte> bytes) {
  std::string text;
  for (std::byte byte : bytes.first(std::min<std::size_t>(bytes.size(), 4))) {
    const auto c = static_cast<unsigned char>(byte);
    if (c >= 0x20 && c < 0x7f && c != '\'' && c != '\\')
      text += char(c);
    else
      text += fmt::format("\\x{:02x}", c);
  }
  return "'" + text + "'";
}

// The format, from the magic bytes; an Error naming the source for anything else.
ImageFormat identify(std::span<const std::byte> bytes, const std::string& source) {
  const auto* b = reinterpret_cast<const unsigned char*>(bytes.data());
  const std::size_t n = bytes.size();
  if (n == 0) fail("{}: empty file (0 bytes)", source);
  if (n >= 3 && b[0] == 0xff && b[1] == 0xd8 && b[2] == 0xff) return ImageFormat::Jpeg;
  if (n >= 4 && !std::memcmp(b, "\x89PNG", 4)) return ImageFormat::Png;
  if (n >= 3 && b[0] == 'P' && (b[1] == '2' || b[1] == '3' || b[1] == '5' || b[1] == '6') &&
      std::isspace(b[2]))
    return ImageFormat::Netpbm;
  if (const auto format = unsupported_format(bytes))
    fail("{}: unsupported image format: {} (expected JPEG, PNG or PNM)", source, *format);
  fail("{}: not an image (unsupported image format: expected JPEG, PNG or PNM; it starts with {})",
       source, first_bytes(bytes));
}

struct FileBytes {
  std::vector<std::byte> bytes;
  bool complete = true;  // false: the file goes on past `limit`
};

[[noreturn]] void fail_file(const std::filesystem::path& path, const char* what, int error) {
  fail("{}: cannot {} image ({})", path.string(), what, std::generic_category().message(error));
}

// The file's bytes, at most `limit` of them.
FileBytes read_file(const std::filesystem::path& path, std::size_t limit) {
  errno = 0;
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> file(std::fopen(path.c_str(), "rb"), std::fclose);
  if (!file) fail_file(path, "open", errno);
  FileBytes out;
  std::error_code ec;
  const auto size = std::filesystem::file_size(path, ec);  // a hint: pipes have none
  if (!ec) out.bytes.reserve(std::min<std::size_t>(std::size_t(size), limit));
  constexpr std::size_t kChunk = 1 << 16;
  while (out.bytes.size() < limit) {
    const std::size_t at = out.bytes.size(),
                      want = std::min(limit - at, std::max(kChunk, out.bytes.capacity() - at));
    out.bytes.resize(at + want);
    const std::size_t got = std::fread(out.bytes.data() + at, 1, want, file.get());
    out.bytes.resize(at + got);
    if (got < want) {
      if (std::ferror(file.get())) fail_file(path, "read", errno);
      return out;  // end of file
    }
  }
  out.complete = std::fgetc(file.get()) == EOF;
  return out;
}

}  // namespace

std::string_view format_name(ImageFormat format) {
  switch (format) {
    case ImageFormat::Jpeg:
      return "JPEG";
    case ImageFormat::Png:
      return "PNG";
    case ImageFormat::Netpbm:
      return "PNM";
  }
  return "?";
}

Tensor decode_image(std::span<const std::byte> bytes, const std::string& source,
                    const DecodeHints& hints) {
  switch (identify(bytes, source)) {
    case ImageFormat::Jpeg:
      return detail::decode_jpeg(bytes, source, hints);
    case ImageFormat::Png:
      return detail::decode_png(bytes, source);
    case ImageFormat::Netpbm:
      return detail::decode_netpbm(bytes, source);
  }
  fail("{}: unknown image format", source);
}

ImageInfo probe_image(std::span<const std::byte> bytes, const std::string& source) {
  switch (identify(bytes, source)) {
    case ImageFormat::Jpeg:
      return detail::probe_jpeg(bytes, source);
    case ImageFormat::Png:
      return detail::probe_png(bytes, source);
    case ImageFormat::Netpbm:
      return detail::probe_netpbm(bytes, source);
  }
  fail("{}: unknown image format", source);
}

Tensor read_image(const std::filesystem::path& path, const DecodeHints& hints) {
  const FileBytes file = read_file(path, std::numeric_limits<std::size_t>::max());
  return decode_image(file.bytes, path.string(), hints);
}

ImageInfo probe_image(const std::filesystem::path& path) {
  // NOTE: headers fit in the first 64 KiB but for JPEGs with large EXIF/ICC segments before the
  // frame header: those are read whole on a second try.
  const FileBytes head = read_file(path, std::size_t(1) << 16);
  if (head.complete) return probe_image(head.bytes, path.string());
  try {
    return probe_image(head.bytes, path.string());
  } catch (const Error&) {
    const FileBytes file = read_file(path, std::numeric_limits<std::size_t>::max());
    return probe_image(file.bytes, path.string());
  }
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
