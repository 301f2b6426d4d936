// JPEG decoding (src/data/jpeg.cpp) against JPEGs made here with libjpeg's compressor: gray, RGB,
// CMYK and YCCK; baseline, progressive and arithmetic-coded (all three hold the same quantized
// coefficients, so they must decode to the same pixels); DCT-scaled "draft" decodes; truncated,
// corrupt and absurd files are Errors naming the source; probe_image reads only the header.
#include <convkit/data/image_file.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "data/data_test_util.h"
#include "data/image_encode_util.h"

namespace convkit::data {
namespace {

using testing::as_bytes;
using testing::encode_jpeg;
using testing::JpegOptions;
using testing::mean_abs_error;
using testing::Pixels;
using testing::smooth_pixels;

Tensor decode(const std::string& bytes, const DecodeHints& hints = {}) {
  return decode_image(as_bytes(bytes), "photo.jpg", hints);
}

std::string error_of(const std::string& bytes) {
  return testing::error_of([&] { decode(bytes); });
}

bool same_pixels(const Tensor& a, const Tensor& b) {
  if (a.shape() != b.shape()) return false;
  return std::equal(a.data<std::uint8_t>(), a.data<std::uint8_t>() + a.numel(),
                    b.data<std::uint8_t>());
}

TEST(Jpeg, GrayDecodesToOneChannelCloseToTheSource) {
  const Pixels gray = smooth_pixels(37, 53, 1);  // sides not multiples of 8 or 16
  const Tensor image =
      decode(encode_jpeg(gray, 37, 53, {.quality = 95, .in_space = JCS_GRAYSCALE}));
  ASSERT_EQ(image.shape(), Shape({1, 37, 53}));
  EXPECT_LT(mean_abs_error(image, gray), 1.5);
}

TEST(Jpeg, RgbBaselineProgressiveAndArithmeticDecodeToTheSamePixels) {
  const Pixels rgb = smooth_pixels(45, 70, 3);
  const Tensor baseline = decode(encode_jpeg(rgb, 45, 70, {.quality = 95}));
  ASSERT_EQ(baseline.shape(), Shape({3, 45, 70}));
  EXPECT_LT(mean_abs_error(baseline, rgb), 2.5);  // 4:2:0 chroma
  const Tensor full_chroma = decode(encode_jpeg(rgb, 45, 70, {.quality = 98, .full_chroma = true}));
  EXPECT_LT(mean_abs_error(full_chroma, rgb), 1.5);
  // Same coefficients, other entropy coding: bit-identical pixels.
  EXPECT_TRUE(same_pixels(decode(encode_jpeg(rgb, 45, 70, {.progressive = true})), baseline));
  EXPECT_TRUE(same_pixels(decode(encode_jpeg(rgb, 45, 70, {.arithmetic = true})), baseline));
  const Pixels gray = smooth_pixels(45, 70, 1);
  const JpegOptions gray_options{.in_space = JCS_GRAYSCALE};
  JpegOptions progressive_gray = gray_options;
  progressive_gray.progressive = true;
  EXPECT_TRUE(same_pixels(decode(encode_jpeg(gray, 45, 70, progressive_gray)),
                          decode(encode_jpeg(gray, 45, 70, gray_options))));
}

TEST(Jpeg, RgbColorSpaceFileDecodesToRgb) {
  const Pixels rgb = smooth_pixels(24, 24, 3);
  const Tensor image = decode(encode_jpeg(rgb, 24, 24, {.quality = 98, .file_space = JCS_RGB}));
  ASSERT_EQ(image.shape(), Shape({3, 24, 24}));
  EXPECT_LT(mean_abs_error(image, rgb), 1.5);
}

TEST(Jpeg, CmykAndYcckAreConvertedToRgb) {
  // libjpeg's compressor writes CMYK with an Adobe marker, the convention for inverted inks
  // (stored value = 255 - ink): R = stored C * stored K / 255.
  const int h = 16, w = 24;
  const Pixels cmyk = smooth_pixels(h, w, 4);
  Pixels expected(std::size_t(h * w * 3));
  for (int i = 0; i < h * w; ++i)
    for (int k = 0; k < 3; ++k)
      expected[std::size_t(i * 3 + k)] =
          std::uint8_t((cmyk[std::size_t(i * 4 + k)] * cmyk[std::size_t(i * 4 + 3)] + 127) / 255);
  for (J_COLOR_SPACE space : {JCS_CMYK, JCS_YCCK}) {
    const Tensor image = decode(encode_jpeg(
        cmyk, h, w,
        {.quality = 100, .in_space = JCS_CMYK, .file_space = space, .full_chroma = true}));
    ASSERT_EQ(image.shape(), Shape({3, h, w})) << space;
    EXPECT_LT(mean_abs_error(image, expected), 1.5) << space;
    const ImageInfo info = probe_image(as_bytes(encode_jpeg(cmyk, h, w, {.in_space = JCS_CMYK})));
    EXPECT_EQ(info.channels, 3);
  }
}

TEST(Jpeg, TruncatedOrCorruptFilesAreErrorsNamingTheSource) {
  const Pixels rgb = smooth_pixels(64, 80, 3);
  for (bool progressive : {false, true}) {
    const std::string jpeg = encode_jpeg(rgb, 64, 80, {.progressive = progressive});
    for (std::size_t cut :
         {jpeg.size() / 2, jpeg.size() * 3 / 4, std::size_t(20), std::size_t(3)}) {
      const std::string message = error_of(jpeg.substr(0, cut));
      EXPECT_NE(message.find("photo.jpg: "), std::string::npos) << message;
      EXPECT_NE(message.find("JPEG"), std::string::npos) << message;
    }
    EXPECT_HAS(error_of(jpeg.substr(0, jpeg.size() / 2)), "truncated or corrupt JPEG");
  }
  EXPECT_HAS(error_of(std::string("\xff\xd8\xff\xe0 this is no JPEG")), "photo.jpg: ");
  // Only the final EOI marker missing: libjpeg reads ahead into it, and truncated it is (as PIL).
  const std::string jpeg = encode_jpeg(rgb, 64, 80);
  EXPECT_HAS(error_of(jpeg.substr(0, jpeg.size() - 2)), "truncated or corrupt JPEG");
}

TEST(Jpeg, AbsurdSizeIsRefusedBeforeDecoding) {
  std::string jpeg = encode_jpeg(smooth_pixels(8, 8, 3), 8, 8);
  const std::size_t sof = jpeg.find("\xff\xc0");
  ASSERT_NE(sof, std::string::npos);
  // SOF0: FF C0, length (2), precision (1), height (2), width (2).
  for (std::size_t i : {sof + 5, sof + 7}) {
    jpeg[i] = char(0xfd);
    jpeg[i + 1] = char(0xe8);  // 65000
  }
  const ImageInfo info = probe_image(as_bytes(jpeg), "huge.jpg");
  EXPECT_EQ(info.height, 65000);
  EXPECT_EQ(info.width, 65000);
  EXPECT_HAS(error_of(jpeg), "photo.jpg: unsupported JPEG size 65000x65000");
  // Fine sizes, but not in a few hundred bytes: Huffman coding needs a bit per 8x8 block; the
  // arithmetic-coded bound is looser (4096 blocks per byte).
  for (bool arithmetic : {false, true}) {
    std::string small = encode_jpeg(smooth_pixels(8, 8, 3), 8, 8, {.arithmetic = arithmetic});
    const std::size_t frame = small.find(arithmetic ? "\xff\xc9" : "\xff\xc0");
    ASSERT_NE(frame, std::string::npos);
    const int side = arithmetic ? 16000 : 4000;
    for (std::size_t i : {frame + 5, frame + 7}) {
      small[i] = char(side >> 8);
      small[i + 1] = char(side & 0xff);
    }
    EXPECT_HAS(error_of(small),
               fmt::format("photo.jpg: truncated or corrupt JPEG (the header says {0}x{0}", side));
  }
}

TEST(Jpeg, TooManyProgressiveScansAreRefused) {
  // A valid progressive script of 1 + 46 * 11 = 507 scans: each AC coefficient alone, first at
  // point transform 10, then refined bit by bit to 0.
  std::vector<jpeg_scan_info> scans{{1, {0}, 0, 0, 0, 0}};
  for (int k = 1; k <= 46; ++k) {
    scans.push_back({1, {0}, k, k, 0, 10});
    for (int al = 9; al >= 0; --al) scans.push_back({1, {0}, k, k, al + 1, al});
  }
  const std::string jpeg = encode_jpeg(
      smooth_pixels(8, 8, 1), 8, 8,
      {.in_space = JCS_GRAYSCALE, .scans = scans.data(), .num_scans = int(scans.size())});
  EXPECT_HAS(error_of(jpeg), "photo.jpg: cannot decode JPEG (more than 500 progressive scans)");
}

// The source averaged over d x d blocks (the last ones partial), u8 [C, ceil(h/d), ceil(w/d)].
Pixels box_average(const Pixels& hwc, int h, int w, int n, int d) {
  const int sh = (h + d - 1) / d, sw = (w + d - 1) / d;
  Pixels out(std::size_t(sh * sw * n));
  for (int y = 0; y < sh; ++y)
    for (int x = 0; x < sw; ++x)
      for (int k = 0; k < n; ++k) {
        double sum = 0;
        int count = 0;
        for (int yy = y * d; yy < std::min(h, y * d + d); ++yy)
          for (int xx = x * d; xx < std::min(w, x * d + d); ++xx, ++count)
            sum += hwc[std::size_t((yy * w + xx) * n + k)];
        out[std::size_t((y * sw + x) * n + k)] = std::uint8_t(std::lround(sum / count));
      }
  return out;
}

TEST(Jpeg, DctScaledDecodeIsTheLargestReductionAtLeastTheRequestedSize) {
  const int h = 240, w = 321;
  const Pixels rgb = smooth_pixels(h, w, 3);
  const std::string jpeg = encode_jpeg(rgb, h, w, {.quality = 95, .full_chroma = true});
  struct Case {
    DecodeHints hints;
    std::int64_t height, width;
    int d;
  };
  for (const Case& c : {Case{{}, 240, 321, 1}, Case{{.min_height = 30, .min_width = 40}, 30, 41, 8},
                        Case{{.min_height = 31}, 60, 81, 4}, Case{{.min_width = 64}, 60, 81, 4},
                        Case{{.min_height = 64, .min_width = 64}, 120, 161, 2},
                        Case{{.min_height = 121}, 240, 321, 1},
                        Case{{.min_height = 1000, .min_width = 1000}, 240, 321, 1}}) {
    const Tensor image = decode(jpeg, c.hints);
    ASSERT_EQ(image.shape(), Shape({3, c.height, c.width})) << c.hints.min_height;
    EXPECT_LT(mean_abs_error(image, box_average(rgb, h, w, 3, c.d)), 2.5) << c.d;
  }
  // Gray and progressive scale too.
  const std::string gray = encode_jpeg(smooth_pixels(97, 101, 1), 97, 101,
                                       {.progressive = true, .in_space = JCS_GRAYSCALE});
  EXPECT_EQ(decode(gray, {.min_height = 8, .min_width = 8}).shape(), Shape({1, 13, 13}));
}

TEST(Jpeg, ProbeReadsTheHeaderWithoutDecoding) {
  const std::string jpeg = encode_jpeg(smooth_pixels(50, 90, 3), 50, 90);
  // Cut after the header: decoding would fail, the header is all probe_image reads.
  const std::string head = jpeg.substr(0, jpeg.size() / 2);
  const ImageInfo info = probe_image(as_bytes(head), "head.jpg");
  EXPECT_EQ(info.format, ImageFormat::Jpeg);
  EXPECT_EQ(format_name(info.format), "JPEG");
  EXPECT_EQ(info.channels, 3);
  EXPECT_EQ(info.height, 50);
  EXPECT_EQ(info.width, 90);
  const ImageInfo gray =
      probe_image(as_bytes(encode_jpeg(smooth_pixels(7, 9, 1), 7, 9, {.in_space = JCS_GRAYSCALE})));
  EXPECT_EQ(gray.channels, 1);
  EXPECT_EQ(gray.height, 7);
  EXPECT_EQ(gray.width, 9);
}

// Decode speed of small JPEGs (96x96 RGB, quality 90, 4:2:0), single thread; run with
// --gtest_also_run_disabled_tests. Also libjpeg alone (one reused decompressor, interleaved
// output straight into one buffer, no tensor), with the ISLOW and IFAST DCTs: the ceiling, and
// what the wrapper costs.
TEST(Jpeg, DISABLED_DecodeTiming) {
  std::vector<std::string> files;
  for (int i = 0; i < 16; ++i) {
    Pixels rgb = smooth_pixels(96, 96, 3);
    for (std::size_t j = 0; j < rgb.size(); ++j) rgb[j] = std::uint8_t(rgb[j] + 7 * i + (j % 13));
    files.push_back(encode_jpeg(rgb, 96, 96, {.quality = 90}));
  }
  constexpr int kImages = 2000;
  auto rate = [&](auto&& decode_one) {
    double best = 0;
    for (int rep = 0; rep < 5; ++rep) {
      const auto t0 = std::chrono::steady_clock::now();
      for (int i = 0; i < kImages; ++i) decode_one(files[std::size_t(i) % files.size()]);
      const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      best = std::max(best, kImages / s);
    }
    return best;
  };
  const double ours = rate([](const std::string& f) { decode(f); });
  const double half = rate([](const std::string& f) { decode(f, {.min_height = 48}); });
  const double eighth = rate([](const std::string& f) { decode(f, {.min_height = 12}); });
  auto raw = [&](J_DCT_METHOD method) {
    jpeg_decompress_struct cinfo;
    jpeg_error_mgr err;
    cinfo.err = jpeg_std_error(&err);
    jpeg_create_decompress(&cinfo);
    std::vector<unsigned char> buffer(96 * 96 * 3);
    const double r = rate([&](const std::string& f) {
      jpeg_mem_src(&cinfo, reinterpret_cast<const unsigned char*>(f.data()), f.size());
      jpeg_read_header(&cinfo, TRUE);
      cinfo.dct_method = method;
      jpeg_start_decompress(&cinfo);
      while (cinfo.output_scanline < cinfo.output_height) {
        JSAMPROW rows[16];
        for (int i = 0; i < 16; ++i)
          rows[i] = buffer.data() + std::min(cinfo.output_scanline + i, 95u) * 96 * 3;
        jpeg_read_scanlines(&cinfo, rows, 16);
      }
      jpeg_finish_decompress(&cinfo);
    });
    jpeg_destroy_decompress(&cinfo);
    return r;
  };
  const double islow = raw(JDCT_ISLOW), ifast = raw(JDCT_IFAST);
  std::printf(
      "96x96 RGB JPEG, 1 thread, images/s: decode_image %.0f, at 1/2 %.0f, at 1/8 %.0f; "
      "libjpeg alone ISLOW %.0f, IFAST %.0f\n",
      ours, half, eighth, islow, ifast);
}

}  // namespace
}  // namespace convkit::data
