// PNG decoding (src/data/png.cpp) against PNGs written here with libpng: every color type and bit
// depth, palettes with and without transparency, Adam7 interlacing, pixels taken as stored (16 bits
// scaled to 8, alpha composited onto black per stored value, gAMA ignored); headers that lie,
// short data and bad CRCs are Errors naming the source; probe_image reads only the header.
#include <convkit/data/image_file.h>

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "data/data_test_util.h"
#include "data/image_encode_util.h"

namespace convkit::data {
namespace {

using testing::as_bytes;
using testing::encode_png;
using testing::PngOptions;

Tensor decode(const std::string& bytes) {
  return decode_image(as_bytes(bytes), "picture.png");
}

std::string error_of(const std::string& bytes) {
  return testing::error_of([&] { decode(bytes); });
}

std::vector<std::uint8_t> values(const Tensor& t) {
  return {t.data<std::uint8_t>(), t.data<std::uint8_t>() + t.numel()};
}

std::string bytes(std::initializer_list<int> v) {
  std::string s;
  for (int b : v) s += char(b);
  return s;
}

using V = std::vector<std::uint8_t>;

TEST(Png, EightBitGrayAndRgbDecodeExactly) {
  const Tensor gray = decode(encode_png({bytes({0, 1, 2}), bytes({253, 254, 255})}, 3,
                                        {.color_type = PNG_COLOR_TYPE_GRAY}));
  ASSERT_EQ(gray.shape(), Shape({1, 2, 3}));
  EXPECT_EQ(values(gray), V({0, 1, 2, 253, 254, 255}));
  const Tensor rgb = decode(encode_png({bytes({10, 20, 30, 40, 50, 60})}, 2));
  ASSERT_EQ(rgb.shape(), Shape({3, 1, 2}));
  EXPECT_EQ(values(rgb), V({10, 40, 20, 50, 30, 60}));  // [C, H, W]
}

TEST(Png, SixteenBitSamplesAreScaledTo8BitsAsStored) {
  // 0, 25700 (= 100 * 257), 32768, 65535: as stored, scaled by 255 / 65535 and rounded (libpng's
  // simplified API took them as linear light and gave 32768 -> 186).
  const std::string row = bytes({0, 0, 0x64, 0x64, 0x80, 0x00, 0xff, 0xff});
  const Tensor gray =
      decode(encode_png({row}, 4, {.bit_depth = 16, .color_type = PNG_COLOR_TYPE_GRAY}));
  EXPECT_EQ(values(gray), V({0, 100, 128, 255}));
  const Tensor rgb = decode(encode_png({row + bytes({0x12, 0x34, 0, 0})}, 2, {.bit_depth = 16}));
  ASSERT_EQ(rgb.shape(), Shape({3, 1, 2}));
  EXPECT_EQ(values(rgb), V({0, 255, 100, 18, 128, 0}));
}

TEST(Png, AlphaIsCompositedOntoBlackPerStoredValue) {
  const Tensor rgba =
      decode(encode_png({bytes({200, 100, 50, 128, 255, 255, 255, 0, 9, 8, 7, 255})}, 3,
                        {.color_type = PNG_COLOR_TYPE_RGB_ALPHA}));
  ASSERT_EQ(rgba.shape(), Shape({3, 1, 3}));
  EXPECT_EQ(values(rgba), V({100, 0, 9, 50, 0, 8, 25, 0, 7}));
  const Tensor gray_alpha = decode(
      encode_png({bytes({200, 128, 77, 255})}, 2, {.color_type = PNG_COLOR_TYPE_GRAY_ALPHA}));
  ASSERT_EQ(gray_alpha.shape(), Shape({1, 1, 2}));
  EXPECT_EQ(values(gray_alpha), V({100, 77}));
  const Tensor rgba16 =
      decode(encode_png({bytes({0xc8, 0, 0, 0, 0, 0, 0x80, 0})}, 1,
                        {.bit_depth = 16, .color_type = PNG_COLOR_TYPE_RGB_ALPHA}));
  EXPECT_EQ(values(rgba16), V({100, 0, 0}));
  // Gray with a transparent value (tRNS): that value becomes black.
  const Tensor keyed =
      decode(encode_png({bytes({5, 6})}, 2, {.color_type = PNG_COLOR_TYPE_GRAY, .trns_gray = 6}));
  EXPECT_EQ(values(keyed), V({5, 0}));
}

TEST(Png, PalettesAndLowBitDepthsExpand) {
  const std::vector<png_color> palette{{255, 0, 0}, {0, 255, 0}, {10, 20, 30}};
  const Tensor indexed = decode(encode_png(
      {bytes({0, 1, 2})}, 3, {.color_type = PNG_COLOR_TYPE_PALETTE, .palette = palette}));
  ASSERT_EQ(indexed.shape(), Shape({3, 1, 3}));
  EXPECT_EQ(values(indexed), V({255, 0, 10, 0, 255, 20, 0, 0, 30}));
  // 2-bit palette with per-entry alpha: index 1 half transparent.
  const Tensor transparent = decode(encode_png({bytes({0b00011000})}, 3,
                                               {.bit_depth = 2,
                                                .color_type = PNG_COLOR_TYPE_PALETTE,
                                                .palette = palette,
                                                .trns_alpha = {255, 128}}));
  EXPECT_EQ(values(transparent), V({255, 0, 10, 0, 128, 20, 0, 0, 30}));
  // 1-bit and 4-bit gray: scaled to 0..255.
  const Tensor bits = decode(
      encode_png({bytes({0b10100000})}, 3, {.bit_depth = 1, .color_type = PNG_COLOR_TYPE_GRAY}));
  EXPECT_EQ(values(bits), V({255, 0, 255}));
  const Tensor nibbles = decode(
      encode_png({bytes({0xf8, 0x10})}, 3, {.bit_depth = 4, .color_type = PNG_COLOR_TYPE_GRAY}));
  EXPECT_EQ(values(nibbles), V({255, 136, 17}));
}

TEST(Png, InterlacedDecodesLikePlainAndGammaIsIgnored) {
  std::vector<std::string> rows;
  for (int y = 0; y < 13; ++y) {
    std::string row;
    for (int x = 0; x < 11 * 3; ++x) row += char((y * 31 + x * 7) & 0xff);
    rows.push_back(row);
  }
  const Tensor plain = decode(encode_png(rows, 11));
  const Tensor interlaced = decode(encode_png(rows, 11, {.interlaced = true}));
  EXPECT_EQ(values(interlaced), values(plain));
  EXPECT_EQ(values(decode(encode_png(rows, 11, {.gamma = 1.0}))), values(plain));
  EXPECT_EQ(plain.data<std::uint8_t>()[1], 21);  // R of pixel (0, 1)
}

TEST(Png, LyingHeadersShortDataAndBadCrcsAreErrorsNamingTheSource) {
  std::vector<std::string> rows;
  for (int y = 0; y < 10; ++y) rows.push_back(std::string(30, char(y * 20)));
  const std::string png = encode_png(rows, 10);
  ASSERT_EQ(decode(png).shape(), Shape({3, 10, 10}));
  auto expect_error = [](const std::string& bad, const std::string& what, const char* part) {
    const std::string message = error_of(bad);
    EXPECT_EQ(message.rfind("picture.png: ", 0), 0u) << what << ": " << message;
    EXPECT_HAS(message, part) << " (" << what << ")";
  };
  // IHDR says 4000x4000 (CRC fixed up): more pixels than the file can hold; refused before
  // allocating them.
  std::string huge = png;
  testing::patch_chunk_u32(huge, "IHDR", 0, 4000);
  testing::patch_chunk_u32(huge, "IHDR", 4, 4000);
  expect_error(huge, "4000x4000", "truncated or corrupt PNG");
  // IHDR says 10x20 for data of 10x10: not enough image data.
  std::string taller = png;
  testing::patch_chunk_u32(taller, "IHDR", 4, 20);
  expect_error(taller, "taller", "Not enough image data");
  // Cut inside the image data, or inside the header.
  expect_error(png.substr(0, png.size() / 2), "cut at half", "truncated");
  expect_error(png.substr(0, 20), "cut in IHDR", "truncated");
  // A flipped byte in IDAT's data (zlib sees it before the CRC is checked) or its CRC, or IHDR's.
  const std::size_t idat = testing::find_chunk(png, "IDAT");
  std::string bad_idat = png;
  bad_idat[idat + 10] ^= 0x40;
  expect_error(bad_idat, "IDAT data", "cannot decode PNG");
  std::string bad_idat_crc = png;
  bad_idat_crc[idat + 8 + std::uint8_t(png[idat + 3])] ^= 0x01;  // a short chunk: length < 256
  expect_error(bad_idat_crc, "IDAT CRC", "CRC");
  std::string bad_ihdr = png;
  bad_ihdr[testing::find_chunk(png, "IHDR") + 9] ^= 0x01;
  expect_error(bad_ihdr, "IHDR CRC", "CRC");
  // The signature's first 4 bytes then garbage.
  expect_error(std::string("\x89PNG garbage", 12), "signature", "PNG");
}

TEST(Png, ProbeReadsTheHeaderOnly) {
  std::vector<std::string> rows(40, std::string(30 * 2, 'x'));
  const std::string png = encode_png(rows, 30, {.color_type = PNG_COLOR_TYPE_GRAY_ALPHA});
  const ImageInfo info = probe_image(as_bytes(png.substr(0, 60)), "head.png");
  EXPECT_EQ(info.format, ImageFormat::Png);
  EXPECT_EQ(info.channels, 1);
  EXPECT_EQ(info.height, 40);
  EXPECT_EQ(info.width, 30);
  const std::vector<png_color> palette{{1, 2, 3}};
  const ImageInfo indexed = probe_image(as_bytes(
      encode_png({bytes({0})}, 1, {.color_type = PNG_COLOR_TYPE_PALETTE, .palette = palette})));
  EXPECT_EQ(indexed.channels, 3);
}

}  // namespace
}  // namespace convkit::data
