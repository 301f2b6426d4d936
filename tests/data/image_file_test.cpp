// Image decoding: PGM/PPM and PNG from files and from memory give the same pixels; hostile
// Netpbm headers (a side so large its pixel count overflows, found by fuzz_image; a zero
// maximum; truncated rasters) are Errors naming the source, never undefined behaviour.
#include <convkit/data/image_file.h>
#include <convkit/io/png_writer.h>

#include <gtest/gtest.h>

#include <span>
#include <string>

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
  EXPECT_NE(error_of("GIF89a").find("unsupported image format"), std::string::npos);
}

}  // namespace
}  // namespace convkit::data
