// Geometry of the augmentation transforms on hand-checkable images: a 90-degree rotation, a
// 2-pixel shift, 2x zoom about the center, flips, the three fill modes, pad-and-crop, cutout,
// elastic displacement, and the pixel-space algebra of brightness and contrast.
#include <convkit/data/augment.h>

#include <gtest/gtest.h>

#include "data/transforms/affine.h"
#include "data/transforms/color.h"
#include "data/transforms/crop.h"
#include "data/transforms/cutout.h"
#include "data/transforms/elastic.h"
#include "data/transforms/flip.h"

#include <numeric>
#include <vector>

namespace convkit::data::transforms {
namespace {

struct Image {
  int c, h, w;
  std::vector<float> v;
  Image(int c_, int h_, int w_, float fill = 0)
      : c(c_), h(h_), w(w_), v(std::size_t(c_ * h_ * w_), fill) {}
  float& at(int k, int r, int col) { return v[std::size_t((k * h + r) * w + col)]; }
  Planes planes() { return {v.data(), c, h, w}; }
};

// The only pixel above 0.5, as (row, col); (-1, -1) when none is.
std::pair<int, int> bright_pixel(Image& im) {
  std::pair<int, int> found{-1, -1};
  for (int r = 0; r < im.h; ++r)
    for (int c = 0; c < im.w; ++c)
      if (im.at(0, r, c) > 0.5f) {
        EXPECT_EQ(found.first, -1) << "more than one bright pixel";
        found = {r, c};
      }
  return found;
}

Image warp(Image& src, const AffineParams& p, FillMode mode = FillMode::Constant, float fill = 0) {
  Image dst(src.c, src.h, src.w);
  std::vector<float> fills(std::size_t(src.c), fill);
  warp_affine(src.planes(), dst.planes(), keras_affine(p, src.h, src.w), mode, fills.data());
  return dst;
}

TEST(AffineTest, RotationBy90TurnsClockwise) {
  Image im(1, 28, 28);
  im.at(0, 3, 10) = 1;
  Image out = warp(im, {.rotation = 90});
  // out(r, c) reads in(27 - c, r): the input pixel (3, 10) lands on (10, 24).
  EXPECT_EQ(bright_pixel(out), std::make_pair(10, 24));
  EXPECT_NEAR(out.at(0, 10, 24), 1.0f, 1e-5f);
  Image back = warp(out, {.rotation = -90});
  EXPECT_EQ(bright_pixel(back), std::make_pair(3, 10));
}

TEST(AffineTest, ShiftByTwoPixels) {
  Image im(2, 12, 16);
  im.at(0, 7, 5) = 1, im.at(1, 7, 5) = 1;
  // tx shifts rows, ty columns; out(r, c) reads in(r + tx, c + ty): content moves by (-tx, -ty).
  Image up = warp(im, {.tx = 2});
  EXPECT_EQ(bright_pixel(up), std::make_pair(5, 5));
  EXPECT_FLOAT_EQ(up.at(1, 5, 5), 1.0f);
  Image right = warp(im, {.ty = -2});
  EXPECT_EQ(bright_pixel(right), std::make_pair(7, 7));
}

TEST(AffineTest, ZoomHalfMagnifiesTwiceAboutTheCenter) {
  // Bilinear sampling reproduces a linear ramp exactly, so the zoomed image is the ramp read at
  // center + 0.5 * (out - center).
  Image im(1, 20, 20);
  for (int r = 0; r < 20; ++r)
    for (int c = 0; c < 20; ++c) im.at(0, r, c) = float(10 * r + c);
  Image out = warp(im, {.zx = 0.5f, .zy = 0.5f});
  const float center = 9.5f;
  for (int r = 0; r < 20; ++r)
    for (int c = 0; c < 20; ++c) {
      const float y = center + 0.5f * (r - center), x = center + 0.5f * (c - center);
      EXPECT_NEAR(out.at(0, r, c), 10 * y + x, 1e-3f) << r << "," << c;
    }
  // A feature at distance d from the center appears at distance 2d.
  Image dot(1, 21, 21);
  dot.at(0, 13, 10) = 1;  // 3 rows below the center (10, 10)
  Image big = warp(dot, {.zx = 0.5f, .zy = 0.5f});
  EXPECT_EQ(bright_pixel(big), std::make_pair(16, 10));
}

TEST(AffineTest, KerasCompositionOrder) {
  // M = R T S Z about the center: the shift is applied in the rotated frame.
  const AffineMap m = keras_affine({.rotation = 90, .tx = 3}, 9, 9);
  // in - c = R (T (out - c)): with out = c, in - c = R (3, 0) = (0, 3).
  const double r = m.a[0][0] * 4 + m.a[0][1] * 4 + m.b[0],
               col = m.a[1][0] * 4 + m.a[1][1] * 4 + m.b[1];
  EXPECT_NEAR(r, 4, 1e-9);
  EXPECT_NEAR(col, 7, 1e-9);
  // Shear keeps rows and slants columns: in = (r - sin(s) c, cos(s) c) about the center.
  const AffineMap s = keras_affine({.shear = 30}, 9, 9);
  EXPECT_NEAR(s.a[0][1], -0.5, 1e-9);
  EXPECT_NEAR(s.a[1][1], std::cos(std::numbers::pi / 6), 1e-9);
}

TEST(AffineTest, FillModes) {
  Image im(1, 4, 5);
  for (int r = 0; r < 4; ++r)
    for (int c = 0; c < 5; ++c) im.at(0, r, c) = float(c + 1);  // columns 1 2 3 4 5
  // Content moves right by 2: the two left columns come from outside the image.
  Image constant = warp(im, {.ty = -2}, FillMode::Constant, -7);
  Image nearest = warp(im, {.ty = -2}, FillMode::Nearest);
  Image reflect = warp(im, {.ty = -2}, FillMode::Reflect);
  const float want_constant[5] = {-7, -7, 1, 2, 3}, want_nearest[5] = {1, 1, 1, 2, 3},
              want_reflect[5] = {2, 1, 1, 2, 3};
  for (int c = 0; c < 5; ++c) {
    EXPECT_FLOAT_EQ(constant.at(0, 2, c), want_constant[c]) << c;
    EXPECT_FLOAT_EQ(nearest.at(0, 2, c), want_nearest[c]) << c;
    EXPECT_FLOAT_EQ(reflect.at(0, 2, c), want_reflect[c]) << c;
  }
  EXPECT_EQ(border_index(-1, 5, FillMode::Reflect), 0);
  EXPECT_EQ(border_index(5, 5, FillMode::Reflect), 4);
  EXPECT_EQ(border_index(11, 5, FillMode::Reflect), 1);  // period 10: 11 -> 1
  EXPECT_EQ(border_index(-12, 5, FillMode::Reflect),
            1);  // -1..-10 -> 0 1 2 3 4 4 3 2 1 0, then 0 1
  EXPECT_EQ(border_index(9, 5, FillMode::Nearest), 4);
  EXPECT_EQ(border_index(-1, 5, FillMode::Constant), -1);
}

TEST(FlipTest, MovesAKnownPixel) {
  Image im(3, 4, 6);
  for (int k = 0; k < 3; ++k) im.at(k, 1, 1) = 1;
  flip_horizontal(im.planes());
  EXPECT_EQ(bright_pixel(im), std::make_pair(1, 4));
  EXPECT_FLOAT_EQ(im.at(2, 1, 4), 1.0f);
  flip_vertical(im.planes());
  EXPECT_EQ(bright_pixel(im), std::make_pair(2, 4));
  EXPECT_FLOAT_EQ(im.at(1, 2, 4), 1.0f);
}

TEST(FlipTest, AugmenterWithProbabilityOneAlwaysFlips) {
  Tensor batch = Tensor::zeros({5, 1, 3, 4});
  for (int i = 0; i < 5; ++i) batch.data<float>()[i * 12 + 0 * 4 + 0] = 1;  // (0, 0) of each sample
  Augmenter aug({.horizontal_flip = 1, .vertical_flip = 1}, 7, std::vector<float>{0},
                std::vector<float>{1});
  aug.apply(batch, 0, 0);
  for (int i = 0; i < 5; ++i) EXPECT_FLOAT_EQ(batch.data<float>()[i * 12 + 2 * 4 + 3], 1.0f) << i;
  Tensor same = Tensor::zeros({5, 1, 3, 4});
  Augmenter never({.horizontal_flip = 0, .vertical_flip = 0, .crop_padding = 0}, 7,
                  std::vector<float>{0}, std::vector<float>{1});
  Tensor copy = same.clone();
  never.apply(same, 0, 0);
  EXPECT_EQ(max_abs_diff(same, copy), 0.0f);
}

TEST(CropTest, PadAndCropIsAnIntegerShift) {
  Image im(1, 5, 5);
  std::iota(im.v.begin(), im.v.end(), 1.0f);
  Image out(1, 5, 5);
  const float fill = 0;
  pad_crop(im.planes(), out.planes(), 2, 2, 2, FillMode::Constant, &fill);  // the center offset
  EXPECT_EQ(out.v, im.v);
  pad_crop(im.planes(), out.planes(), 2, 0, 4, FillMode::Constant, &fill);  // down 2, left 2
  EXPECT_FLOAT_EQ(out.at(0, 0, 0), 0.0f);
  EXPECT_FLOAT_EQ(out.at(0, 2, 0), im.at(0, 0, 2));
  EXPECT_FLOAT_EQ(out.at(0, 4, 2), im.at(0, 2, 4));
  EXPECT_FLOAT_EQ(out.at(0, 4, 3), 0.0f);
  pad_crop(im.planes(), out.planes(), 2, 0, 2, FillMode::Reflect, &fill);  // down 2, reflected
  EXPECT_FLOAT_EQ(out.at(0, 0, 1), im.at(0, 1, 1));
  EXPECT_FLOAT_EQ(out.at(0, 1, 1), im.at(0, 0, 1));
  pad_crop(im.planes(), out.planes(), 2, 4, 4, FillMode::Nearest, &fill);  // up 2, left 2
  EXPECT_FLOAT_EQ(out.at(0, 4, 4), im.at(0, 4, 4));
  EXPECT_FLOAT_EQ(out.at(0, 0, 0), im.at(0, 2, 2));
}

TEST(CutoutTest, FillsTheClippedBox) {
  Image im(2, 6, 6, 1.0f);
  const float fill[2] = {-1, -2};
  erase_box(im.planes(), -1, 4, 3, 4, fill);  // rows -1..1, cols 4..7 -> rows 0..1, cols 4..5
  int erased = 0;
  for (int k = 0; k < 2; ++k)
    for (int r = 0; r < 6; ++r)
      for (int c = 0; c < 6; ++c) {
        const bool inside = r <= 1 && c >= 4;
        EXPECT_FLOAT_EQ(im.at(k, r, c), inside ? fill[k] : 1.0f);
        erased += inside;
      }
  EXPECT_EQ(erased, 8);
}

TEST(ElasticTest, KernelBlurAndDisplacement) {
  const std::vector<float> k = gaussian_kernel(2.0f);
  EXPECT_EQ(k.size(), 17u);  // radius 4 sigma
  EXPECT_NEAR(std::accumulate(k.begin(), k.end(), 0.0), 1.0, 1e-6);
  std::vector<float> field(30, 3.0f), tmp(std::size_t(blur_scratch(5, 6, k)));
  gaussian_blur(field.data(), tmp.data(), 5, 6, k);
  for (float v : field) EXPECT_NEAR(v, 3.0f, 1e-5f);  // constants survive (reflected edges)
  Image im(1, 5, 6), out(1, 5, 6);
  std::iota(im.v.begin(), im.v.end(), 0.0f);
  std::vector<float> dy(30, 0.0f), dx(30, 1.0f);
  const float fill = 0;
  displace(im.planes(), out.planes(), dy.data(), dx.data(), FillMode::Nearest, &fill);
  for (int r = 0; r < 5; ++r)
    for (int c = 0; c < 6; ++c) EXPECT_FLOAT_EQ(out.at(0, r, c), im.at(0, r, std::min(c + 1, 5)));
  // The random fields have the magnitude Simard's recipe gives: alpha * |blurred U(-1, 1)|.
  const std::vector<float> k4 = gaussian_kernel(4.0f);
  std::vector<float> fy(28 * 28), fx(28 * 28), t(std::size_t(blur_scratch(28, 28, k4)));
  random_displacements(SampleRng(5, 0), 28, 28, 34.0f, k4, fy.data(), fx.data(), t.data());
  double sq = 0;
  for (float v : fx) sq += double(v) * v;
  const double rms = std::sqrt(sq / fx.size());
  EXPECT_GT(rms, 0.3);
  EXPECT_LT(rms, 5.0);
}

TEST(ColorTest, BrightnessAndContrastInPixelSpace) {
  const std::vector<float> mean{0.5f}, std{0.25f};
  Normalization norm(mean, std, 1);
  Image im(1, 1, 4);
  const float pixels[4] = {0, 100, 200, 250};
  for (int c = 0; c < 4; ++c) im.at(0, 0, c) = norm.to_normalized(0, pixels[c]);
  Image b = im;
  adjust_brightness_contrast(b.planes(), norm, 1.2f, 1.0f);
  const float bright[4] = {0, 120, 240, 255};  // 250 * 1.2 clamps to 255
  for (int c = 0; c < 4; ++c) EXPECT_NEAR(norm.to_pixel(0, b.at(0, 0, c)), bright[c], 1e-3f);
  Image ct = im;
  adjust_brightness_contrast(ct.planes(), norm, 1.0f, 0.5f);  // halfway to the mean 137.5
  for (int c = 0; c < 4; ++c)
    EXPECT_NEAR(norm.to_pixel(0, ct.at(0, 0, c)), 0.5f * pixels[c] + 0.5f * 137.5f, 1e-3f);
}

}  // namespace
}  // namespace convkit::data::transforms
