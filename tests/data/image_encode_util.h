// Helpers for the image decoding tests: synthetic JPEGs made with libjpeg's compressor, PNGs made
// with libpng's writer (any bit depth, color type, palette, tRNS, interlace), PNG chunk surgery
// with a fixed-up CRC, and pixel comparisons. Images here are H x W x N interleaved bytes (hwc),
// as the encoders take them; decoded tensors are u8 [C, H, W].
#pragma once

#include <convkit/data/image_file.h>

#include <png.h>
#include <zlib.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <span>
#include <string>
#include <vector>

#include <jpeglib.h>

namespace convkit::data::testing {

using Pixels = std::vector<std::uint8_t>;

// A smooth pattern (JPEG compresses it with small error): gradients and a slow wave per channel.
inline Pixels smooth_pixels(int h, int w, int n) {
  Pixels p(std::size_t(h * w * n));
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x)
      for (int k = 0; k < n; ++k) {
        const double v = 128 + 60 * std::sin(0.09 * x + 0.7 * k) + 50 * std::cos(0.07 * y - k) +
                         10.0 * (x + y) / (w + h);
        p[std::size_t((y * w + x) * n + k)] = std::uint8_t(std::lround(std::clamp(v, 0.0, 255.0)));
      }
  return p;
}

struct JpegOptions {
  int quality = 95;
  bool progressive = false;
  bool arithmetic = false;
  J_COLOR_SPACE in_space = JCS_RGB;        // what `pixels` hold (JCS_GRAYSCALE, JCS_RGB, JCS_CMYK)
  J_COLOR_SPACE file_space = JCS_UNKNOWN;  // JCS_UNKNOWN: libjpeg's default for in_space
  bool full_chroma = false;                // 4:4:4 instead of libjpeg's default 4:2:0
  const jpeg_scan_info* scans = nullptr;   // a custom progressive scan script
  int num_scans = 0;
  std::string app1;  // bytes of an APP1 marker (e.g. a big EXIF block), written before the frame
};

inline std::string encode_jpeg(const Pixels& hwc, int h, int w, const JpegOptions& options = {}) {
  jpeg_compress_struct cinfo;
  jpeg_error_mgr err;
  cinfo.err = jpeg_std_error(&err);  // errors exit(): fine for the tests' own valid inputs
  jpeg_create_compress(&cinfo);
  unsigned char* buffer = nullptr;
  unsigned long size = 0;
  jpeg_mem_dest(&cinfo, &buffer, &size);
  cinfo.image_width = JDIMENSION(w);
  cinfo.image_height = JDIMENSION(h);
  cinfo.in_color_space = options.in_space;
  cinfo.input_components = options.in_space == JCS_GRAYSCALE ? 1
                           : options.in_space == JCS_CMYK    ? 4
                                                             : 3;
  jpeg_set_defaults(&cinfo);
  if (options.file_space != JCS_UNKNOWN) jpeg_set_colorspace(&cinfo, options.file_space);
  jpeg_set_quality(&cinfo, options.quality, TRUE);
  if (options.full_chroma)
    for (int i = 0; i < cinfo.num_components; ++i)
      cinfo.comp_info[i].h_samp_factor = cinfo.comp_info[i].v_samp_factor = 1;
  if (options.progressive) jpeg_simple_progression(&cinfo);
  if (options.scans) {
    cinfo.scan_info = options.scans;
    cinfo.num_scans = options.num_scans;
  }
  cinfo.arith_code = options.arithmetic ? TRUE : FALSE;
  jpeg_start_compress(&cinfo, TRUE);
  if (!options.app1.empty())
    jpeg_write_marker(&cinfo, JPEG_APP0 + 1, reinterpret_cast<const JOCTET*>(options.app1.data()),
                      unsigned(options.app1.size()));
  const int stride = w * cinfo.input_components;
  while (cinfo.next_scanline < cinfo.image_height) {
    JSAMPROW row = const_cast<JSAMPLE*>(hwc.data() + cinfo.next_scanline * stride);
    jpeg_write_scanlines(&cinfo, &row, 1);
  }
  jpeg_finish_compress(&cinfo);
  jpeg_destroy_compress(&cinfo);
  std::string out(reinterpret_cast<const char*>(buffer), size);
  std::free(buffer);
  return out;
}

struct PngOptions {
  int bit_depth = 8;
  int color_type = PNG_COLOR_TYPE_RGB;
  bool interlaced = false;
  std::vector<png_color> palette;
  std::vector<png_byte> trns_alpha;  // palette images: alpha per entry
  int trns_gray = -1;                // gray images: the transparent value
  double gamma = 0;                  // > 0: a gAMA chunk
};

// `rows`: the packed rows as the PNG stores them (16-bit samples big-endian, low depths packed).
inline std::string encode_png(const std::vector<std::string>& rows, int w,
                              const PngOptions& options = {}) {
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, nullptr, nullptr, nullptr);
  png_infop info = png_create_info_struct(png);
  std::string out;
  png_set_write_fn(
      png, &out,
      [](png_structp p, png_bytep data, std::size_t n) {
        static_cast<std::string*>(png_get_io_ptr(p))->append(reinterpret_cast<char*>(data), n);
      },
      nullptr);
  png_set_IHDR(png, info, png_uint_32(w), png_uint_32(rows.size()), options.bit_depth,
               options.color_type, options.interlaced ? PNG_INTERLACE_ADAM7 : PNG_INTERLACE_NONE,
               PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  if (!options.palette.empty())
    png_set_PLTE(png, info, options.palette.data(), int(options.palette.size()));
  if (!options.trns_alpha.empty())
    png_set_tRNS(png, info, options.trns_alpha.data(), int(options.trns_alpha.size()), nullptr);
  if (options.trns_gray >= 0) {
    png_color_16 value{};
    value.gray = png_uint_16(options.trns_gray);
    png_set_tRNS(png, info, nullptr, 0, &value);
  }
  if (options.gamma > 0) png_set_gAMA(png, info, options.gamma);
  png_write_info(png, info);
  std::vector<png_bytep> pointers;
  for (const std::string& row : rows)
    pointers.push_back(reinterpret_cast<png_bytep>(const_cast<char*>(row.data())));
  png_write_image(png, pointers.data());
  png_write_end(png, info);
  png_destroy_write_struct(&png, &info);
  return out;
}

// The byte offset of the first chunk of `type` in a PNG (its length field), or npos.
inline std::size_t find_chunk(const std::string& png, const char* type) {
  for (std::size_t at = 8; at + 8 <= png.size();) {
    const auto* b = reinterpret_cast<const unsigned char*>(png.data() + at);
    const std::size_t length = std::size_t(b[0]) << 24 | b[1] << 16 | b[2] << 8 | b[3];
    if (!std::memcmp(b + 4, type, 4)) return at;
    at += 12 + length;
  }
  return std::string::npos;
}

// Sets a big-endian u32 inside a chunk's data and recomputes the chunk's CRC, so that only the
// value lies: e.g. IHDR's width (offset 0) or height (offset 4).
inline void patch_chunk_u32(std::string& png, const char* type, std::size_t offset,
                            std::uint32_t value) {
  const std::size_t at = find_chunk(png, type);
  auto* b = reinterpret_cast<unsigned char*>(png.data() + at);
  const std::size_t length = std::size_t(b[0]) << 24 | b[1] << 16 | b[2] << 8 | b[3];
  for (int i = 0; i < 4; ++i) b[8 + offset + std::size_t(i)] = std::uint8_t(value >> (24 - 8 * i));
  const auto crc = std::uint32_t(::crc32(0, b + 4, uInt(4 + length)));  // zlib's
  for (int i = 0; i < 4; ++i) b[8 + length + std::size_t(i)] = std::uint8_t(crc >> (24 - 8 * i));
}

inline std::span<const std::byte> as_bytes(const std::string& s) {
  return std::as_bytes(std::span(s.data(), s.size()));
}

// The mean absolute difference between a decoded u8 [C, H, W] and interleaved source pixels.
inline double mean_abs_error(const Tensor& chw, const Pixels& hwc) {
  const std::int64_t c = chw.dim(0), h = chw.dim(1), w = chw.dim(2);
  const auto* o = chw.data<std::uint8_t>();
  double sum = 0;
  for (std::int64_t k = 0; k < c; ++k)
    for (std::int64_t i = 0; i < h * w; ++i)
      sum += std::abs(double(o[k * h * w + i]) - double(hwc[std::size_t(i * c + k)]));
  return sum / double(c * h * w);
}

}  // namespace convkit::data::testing
