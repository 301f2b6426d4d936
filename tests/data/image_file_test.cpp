// Image decoding: PGM/PPM and PNG from files and from memory give the same pixels; hostile
// Netpbm headers (a side so large its pixel count overflows, found by fuzz_image; a zero
// maximum; truncated rasters) are Errors naming the source, never undefined behaviour. Files:
// the format comes from the content, not the name; empty, non-image, missing and unreadable
// files each say so; probe_image on a file reads its header. (JPEG and PNG details: jpeg_test,
// png_test.)
#include <convkit/data/image_file.h>
#include <convkit/io/png_writer.h>

#include <gtest/gtest.h>

#include <unistd.h>

#include <fstream>
#include <span>
#include <string>

#include "data/data_test_util.h"
#include "data/image_encode_util.h"

namespace convkit::data {
namespace {

Tensor decode(const std::string& bytes, const std::string& source = "test.img") {
  return decode_image(std::as_bytes(std::span(bytes.data(), bytes.size())), source);
}

std::string error_of(const std::string& bytes) {
  try {
    decode(bytes, "bad.ppm");
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(ImageFile, NetpbmAndPngDecodeFromMemory) {
  const Tensor gray =
      decode(std::string("P5\n3 2\n255\n") + std::string("\x00\x10\x20\x30\x40\xff", 6));
  ASSERT_EQ(gray.shape(), Shape({1, 2, 3}));
  EXPECT_EQ(gray.data<std::uint8_t>()[5], 255);
  const Tensor rgb = decode("P3\n# a comment\n1 1\n65535\n65535 0 32768\n");
  ASSERT_EQ(rgb.shape(), Shape({3, 1, 1}));
  EXPECT_EQ(rgb.data<std::uint8_t>()[0], 255);
  EXPECT_EQ(rgb.data<std::uint8_t>()[2], 128);
  const std::string png = io::encode_png(gray);
  const Tensor back = decode(png);
  ASSERT_EQ(back.shape(), gray.shape());
  for (int i = 0; i < 6; ++i) EXPECT_EQ(back.data<std::uint8_t>()[i], gray.data<std::uint8_t>()[i]);
}

TEST(ImageFile, HostileNetpbmHeadersAreErrorsNamingTheSource) {
  for (const std::string& bad :
       {std::string("P6\n88888888888888882 153\n255\n"),  // w * h overflows
        std::string("P5\n4 4611686018427387904\n255\n"),  // h alone too large
        std::string("P5\n2 2\n0\n"),                      // maximum 0
        std::string("P5\n2 2\n255\n\x01"),                // truncated raster
        std::string("P2\n2 1\n255\n7\n"),                 // truncated ASCII
        std::string("P5\n-3 2\n255\n")}) {
    const std::string message = error_of(bad);
    EXPECT_NE(message.find("bad.ppm"), std::string::npos) << "'" << bad << "' gave: " << message;
  }
  EXPECT_NE(error_of("GIF89a").find("unsupported image format: GIF"), std::string::npos);
}

void write_file(const std::filesystem::path& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

TEST(ImageFile, FormatIsToldByContentNotByName) {
  testing::TempDir dir;
  const testing::Pixels rgb = testing::smooth_pixels(12, 20, 3);
  write_file(dir / "photo.png", testing::encode_jpeg(rgb, 12, 20));
  write_file(dir / "scan.jpg", io::encode_png(decode("P5\n2 1\n255\n\x07\x09")));
  write_file(dir / "noext", "P6\n1 1\n255\nabc");
  EXPECT_EQ(read_image(dir / "photo.png").shape(), Shape({3, 12, 20}));
  EXPECT_EQ(read_image(dir / "photo.png", {.min_height = 6}).shape(), Shape({3, 6, 10}));
  EXPECT_EQ(probe_image(dir / "photo.png").format, ImageFormat::Jpeg);
  EXPECT_EQ(read_image(dir / "scan.jpg").data<std::uint8_t>()[1], 9);
  EXPECT_EQ(probe_image(dir / "scan.jpg").format, ImageFormat::Png);
  EXPECT_EQ(read_image(dir / "noext").data<std::uint8_t>()[2], 'c');
  const ImageInfo pnm = probe_image(dir / "noext");
  EXPECT_EQ(pnm.format, ImageFormat::Netpbm);
  EXPECT_EQ(pnm.channels, 3);
}

TEST(ImageFile, EmptyNonImageMissingAndUnreadableFilesSayWhy) {
  testing::TempDir dir;
  const std::string root = dir.path.string();
  write_file(dir / "empty.jpg", "");
  write_file(dir / "notes.png", "hello world\n");
  write_file(dir / "binary.jpg", std::string("\x00\x01\x02'\\", 5));
  write_file(dir / "anim.gif", "GIF89a\x01\x00\x01\x00");
  auto read_error = [](const std::filesystem::path& p) {
    return testing::error_of([&] { read_image(p); });
  };
  auto probe_error = [](const std::filesystem::path& p) {
    return testing::error_of([&] { probe_image(p); });
  };
  EXPECT_EQ(read_error(dir / "empty.jpg"), root + "/empty.jpg: empty file (0 bytes)");
  EXPECT_EQ(probe_error(dir / "empty.jpg"), root + "/empty.jpg: empty file (0 bytes)");
  EXPECT_EQ(read_error(dir / "notes.png"),
            root +
                "/notes.png: not an image (unsupported image format: expected JPEG, PNG or "
                "PNM; it starts with 'hell')");
  EXPECT_HAS(read_error(dir / "binary.jpg"), "starts with '\\x00\\x01\\x02\\x27'");
  EXPECT_EQ(read_error(dir / "anim.gif"),
            root + "/anim.gif: unsupported image format: GIF (expected JPEG, PNG or PNM)");
  EXPECT_EQ(read_error(dir / "missing.png"),
            root + "/missing.png: cannot open image (No such file or directory)");
  EXPECT_EQ(probe_error(dir / "missing.png"),
            root + "/missing.png: cannot open image (No such file or directory)");
  EXPECT_EQ(read_error(dir.path), root + ": cannot read image (Is a directory)");
  write_file(dir / "locked.png", io::encode_png(decode("P5\n1 1\n255\n\x07")));
  std::filesystem::permissions(dir / "locked.png", std::filesystem::perms::none);
  if (::geteuid() != 0)  // root reads it anyway
    EXPECT_EQ(read_error(dir / "locked.png"),
              root + "/locked.png: cannot open image (Permission denied)");
}

TEST(ImageFile, ProbeOfAFileFindsTheHeaderBehindLargeMetadata) {
  testing::TempDir dir;
  const testing::Pixels rgb = testing::smooth_pixels(30, 40, 3);
  // Two 60 KB APP1 blocks (as big EXIF/XMP data) before the frame header: past the first 64 KiB.
  testing::JpegOptions options;
  options.app1 = std::string(60000, 'e');
  std::string jpeg = testing::encode_jpeg(rgb, 30, 40, options);
  const std::size_t app1 = jpeg.find("\xff\xe1");
  jpeg.insert(app1, jpeg.substr(app1, 60004));
  write_file(dir / "big.jpg", jpeg);
  const ImageInfo info = probe_image(dir / "big.jpg");
  EXPECT_EQ(info.height, 30);
  EXPECT_EQ(info.width, 40);
  EXPECT_EQ(read_image(dir / "big.jpg").shape(), Shape({3, 30, 40}));
}

}  // namespace
}  // namespace convkit::data
