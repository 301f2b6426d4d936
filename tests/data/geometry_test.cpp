// Sample geometry: each resize policy's output size and content, RandomResizedCrop's boxes
// (inside the image, area and ratio in range, a pure function of seed/epoch/index), channel
// conversion, and option validation.
#include <convkit/data/geometry.h>

#include <gtest/gtest.h>

#include "data/data_test_util.h"

#include <cmath>

namespace convkit::data {
namespace {

using testing::error_of;

// u8 [c, h, w] with pixel (k, y, x) = f(k, y, x).
template <typename F>
Tensor image_of(std::int64_t c, std::int64_t h, std::int64_t w, F f) {
  Tensor t = Tensor::empty({c, h, w}, DType::u8);
  auto* p = t.data<std::uint8_t>();
  for (std::int64_t k = 0; k < c; ++k)
    for (std::int64_t y = 0; y < h; ++y)
      for (std::int64_t x = 0; x < w; ++x) p[(k * h + y) * w + x] = std::uint8_t(f(k, y, x));
  return t;
}

std::uint8_t at(const Tensor& t, std::int64_t k, std::int64_t y, std::int64_t x) {
  return t.data<std::uint8_t>()[(k * t.dim(1) + y) * t.dim(2) + x];
}

TEST(Geometry, StretchResizesToTheSampleSize) {
  const Tensor img = image_of(3, 40, 80, [](auto k, auto, auto) { return 10 + 50 * k; });
  Geometry g{.channels = 3, .height = 20, .width = 20};
  Tensor out = Tensor::empty(g.shape(), DType::u8);
  GeometryScratch scratch;
  prepare_image(img, g, out, scratch);
  for (int k = 0; k < 3; ++k) EXPECT_EQ(at(out, k, 7, 13), 10 + 50 * k);
}

TEST(Geometry, CenterCropKeepsTheMiddle) {
  // A 30 x 90 image: left third 0, middle third 200, right third 50. Resizing the shorter side
  // to 30 and cutting the centre 30 x 30 keeps only the middle third.
  const Tensor img = image_of(1, 30, 90, [](auto, auto, auto x) {
    return x < 30 ? 0 : x < 60 ? 200 : 50;
  });
  Geometry g{.channels = 1, .height = 15, .width = 15, .resize = ResizePolicy::CenterCrop};
  Tensor out = Tensor::empty(g.shape(), DType::u8);
  GeometryScratch scratch;
  prepare_image(img, g, out, scratch);
  for (int y = 0; y < 15; ++y)
    for (int x = 0; x < 15; ++x) EXPECT_EQ(at(out, 0, y, x), 200) << y << "," << x;
  // crop_fraction 0.5: the crop is half the shorter side: still inside the middle third.
  g.crop_fraction = 0.5f;
  prepare_image(img, g, out, scratch);
  EXPECT_EQ(at(out, 0, 0, 0), 200);
}

TEST(Geometry, LetterboxPadsAndKeepsTheAspectRatio) {
  const Tensor img = image_of(1, 10, 40, [](auto, auto, auto) { return 255; });
  Geometry g{
      .channels = 1, .height = 20, .width = 20, .resize = ResizePolicy::Letterbox, .fill = 7};
  Tensor out = Tensor::empty(g.shape(), DType::u8);
  GeometryScratch scratch;
  prepare_image(img, g, out, scratch);
  // 10 x 40 scales by 0.5 to 5 x 20, centred at rows 7..11.
  EXPECT_EQ(at(out, 0, 0, 10), 7);
  EXPECT_EQ(at(out, 0, 6, 10), 7);
  EXPECT_EQ(at(out, 0, 7, 0), 255);
  EXPECT_EQ(at(out, 0, 11, 19), 255);
  EXPECT_EQ(at(out, 0, 12, 10), 7);
  EXPECT_EQ(at(out, 0, 19, 10), 7);
}

TEST(Geometry, ConvertsChannels) {
  const Tensor grey = image_of(1, 8, 8, [](auto, auto y, auto x) { return y * 8 + x; });
  Geometry rgb{.channels = 3, .height = 8, .width = 8};
  Tensor out = Tensor::empty(rgb.shape(), DType::u8);
  GeometryScratch scratch;
  prepare_image(grey, rgb, out, scratch);
  for (int k = 0; k < 3; ++k) EXPECT_EQ(at(out, k, 3, 5), 29);
  const Tensor color = image_of(3, 8, 8, [](auto k, auto, auto) { return k == 0 ? 200 : 100; });
  Geometry g1{.channels = 1, .height = 4, .width = 4};
  Tensor luma = Tensor::empty(g1.shape(), DType::u8);
  prepare_image(color, g1, luma, scratch);
  EXPECT_EQ(at(luma, 0, 1, 1), 130);  // 0.299 * 200 + 0.701 * 100 = 129.9
}

TEST(Geometry, RandomResizedCropBoxesStayInRangeAndRepeat) {
  RandomResizedCropOptions o{.enabled = true};
  int differing = 0;
  for (std::uint64_t i = 0; i < 500; ++i) {
    const CropBox b = random_resized_crop_box(60, 90, o, 5, 2, i);
    ASSERT_GE(b.top, 0);
    ASSERT_GE(b.left, 0);
    ASSERT_LE(b.top + b.height, 60);
    ASSERT_LE(b.left + b.width, 90);
    const double area = double(b.height * b.width) / (60.0 * 90.0);
    EXPECT_GE(area, 0.07);
    EXPECT_LE(area, 1.0);
    const CropBox again = random_resized_crop_box(60, 90, o, 5, 2, i);
    EXPECT_EQ(again.top, b.top);
    EXPECT_EQ(again.width, b.width);
    const CropBox other = random_resized_crop_box(60, 90, o, 5, 3, i);
    differing += other.top != b.top || other.width != b.width;
  }
  EXPECT_GT(differing, 400);  // another epoch draws other boxes
  // A range no box can meet falls back to the centre crop clamped to the ratio.
  RandomResizedCropOptions wide{.enabled = true, .scale = {1, 1}, .ratio = {3, 3}};
  const CropBox c = random_resized_crop_box(60, 90, wide, 1, 0, 0);
  EXPECT_EQ(c.height, 30);
  EXPECT_EQ(c.width, 90);
  EXPECT_EQ(c.top, 15);
}

TEST(Geometry, TrainingCropDependsOnTheSampleOnly) {
  const Tensor img =
      image_of(3, 50, 70, [](auto k, auto y, auto x) { return (k * 31 + y * 7 + x) % 256; });
  Geometry g{.channels = 3, .height = 16, .width = 16, .random_crop = {.enabled = true}};
  GeometryScratch s1, s2;
  Tensor a = Tensor::empty(g.shape(), DType::u8), b = Tensor::empty(g.shape(), DType::u8);
  prepare_image(img, g, a, s1, true, 9, 1, 42);
  prepare_image(img, g, b, s2, true, 9, 1, 42);
  EXPECT_EQ(0, std::memcmp(a.raw(), b.raw(), a.nbytes()));
  prepare_image(img, g, b, s2, true, 9, 1, 43);
  EXPECT_NE(0, std::memcmp(a.raw(), b.raw(), a.nbytes()));
  // Not training: the deterministic policy, whatever the key.
  prepare_image(img, g, a, s1, false, 9, 1, 42);
  prepare_image(img, g, b, s2, false, 9, 7, 43);
  EXPECT_EQ(0, std::memcmp(a.raw(), b.raw(), a.nbytes()));
}

TEST(Geometry, ValidationNamesTheKey) {
  EXPECT_HAS(
      error_of([] { validate(Geometry{.channels = 2, .height = 8, .width = 8}, "dataset"); }),
      "dataset: 2 channels");
  EXPECT_HAS(
      error_of([] { validate(Geometry{.channels = 3, .height = 0, .width = 8}, "dataset"); }),
      "out of range");
  Geometry g{.channels = 3,
             .height = 8,
             .width = 8,
             .random_crop = {.enabled = true, .scale = {0.5f, 0.2f}}};
  EXPECT_HAS(error_of([&] { validate(g, "dataset"); }), "dataset.random_resized_crop.scale");
  EXPECT_HAS(error_of([] { parse_resize_policy("squash"); }), "stretch, center_crop or letterbox");
  EXPECT_HAS(error_of([] { parse_interpolation("lanczos"); }),
             "nearest, bilinear, bicubic or area");
  Tensor out = Tensor::empty({3, 8, 8}, DType::u8);
  GeometryScratch s;
  EXPECT_HAS(error_of([&] {
               prepare_image(Tensor::empty({4, 8, 8}, DType::u8),
                             Geometry{.channels = 3, .height = 8, .width = 8}, out, s);
             }),
             "expected an image u8 [1 or 3, H, W]");
}

}  // namespace
}  // namespace convkit::data
