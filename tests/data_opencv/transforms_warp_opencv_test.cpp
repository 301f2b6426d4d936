// The augmenter's bilinear affine warp against OpenCV's cv::warpAffine (WARP_INVERSE_MAP,
// INTER_LINEAR) with the three fill modes (BORDER_CONSTANT, BORDER_REPLICATE, BORDER_REFLECT).
// OpenCV rounds sampling positions to 1/32 pixel, so general transforms are compared on smooth
// images (within 1 grey level), and transforms whose positions fall on that grid on noise.
#include "data/transforms/affine.h"

#include <convkit/util/rng.h>

#include <gtest/gtest.h>
#include <opencv2/imgproc.hpp>

#include <cmath>
#include <numbers>

namespace convkit::data::transforms {
namespace {

// A smooth image in [0, 255] whose values approach `edge` at the borders (so a constant fill of
// `edge` continues it smoothly), or plain noise.
std::vector<float> test_image(int h, int w, float edge, bool noise) {
  std::vector<float> v(std::size_t(h * w));
  if (noise) {
    fill_uniform(v.data(), std::int64_t(v.size()), 21, 0.0f, 255.0f);
    return v;
  }
  for (int r = 0; r < h; ++r)
    for (int c = 0; c < w; ++c) {
      const double window =
          std::sin(std::numbers::pi * (r + 0.5) / h) * std::sin(std::numbers::pi * (c + 0.5) / w);
      const double g = 90 * std::sin(0.31 * r + 0.17 * c) + 60 * std::cos(0.23 * c - 0.13 * r);
      v[std::size_t(r * w + c)] =
          float(std::clamp(edge + window * g + window * (128 - edge), 0.0, 255.0));
    }
  return v;
}

float max_difference(const std::vector<float>& image, int h, int w, const AffineParams& p,
                     FillMode mode, float fill) {
  std::vector<float> src = image, ours(image.size());
  const AffineMap m = keras_affine(p, h, w);
  warp_affine({src.data(), 1, h, w}, {ours.data(), 1, h, w}, m, mode, &fill);
  // OpenCV's map is in (x, y) = (col, row): src_x = a11 x + a10 y + b1, src_y = a01 x + a00 y + b0.
  cv::Mat map =
      (cv::Mat_<double>(2, 3) << m.a[1][1], m.a[1][0], m.b[1], m.a[0][1], m.a[0][0], m.b[0]);
  const int border = mode == FillMode::Constant  ? cv::BORDER_CONSTANT
                     : mode == FillMode::Nearest ? cv::BORDER_REPLICATE
                                                 : cv::BORDER_REFLECT;
  cv::Mat in(h, w, CV_32FC1, src.data()), out;
  cv::warpAffine(in, out, map, cv::Size(w, h), cv::INTER_LINEAR | cv::WARP_INVERSE_MAP, border,
                 cv::Scalar(fill));
  float worst = 0;
  for (int r = 0; r < h; ++r)
    for (int c = 0; c < w; ++c)
      worst = std::max(worst, std::abs(ours[std::size_t(r * w + c)] - out.at<float>(r, c)));
  return worst;
}

const FillMode kModes[] = {FillMode::Constant, FillMode::Nearest, FillMode::Reflect};

TEST(WarpOpenCvTest, GeneralTransformsOnSmoothImages) {
  const AffineParams params[] = {
      {.rotation = 17},
      {.rotation = -33, .tx = 2.3f, .ty = -1.7f},
      {.shear = 12, .zx = 0.9f, .zy = 1.15f},
      {.rotation = 8, .tx = -3.1f, .ty = 4.2f, .shear = -7, .zx = 1.2f, .zy = 0.8f},
      {.zx = 1.6f, .zy = 1.6f},  // zoomed out: wide fill margins
      {.rotation = 45, .zx = 0.7f, .zy = 0.75f}};
  for (auto [h, w] : {std::pair{28, 28}, std::pair{24, 33}})
    for (const auto& p : params)
      for (FillMode mode : kModes) {
        const float fill = 40;
        const std::vector<float> image = test_image(h, w, fill, false);
        EXPECT_LE(max_difference(image, h, w, p, mode, fill), 1.0f)
            << h << "x" << w << " mode " << int(mode) << " rotation " << p.rotation << " shear "
            << p.shear << " zoom " << p.zx << "," << p.zy;
      }
}

TEST(WarpOpenCvTest, GridAlignedTransformsOnNoise) {
  // Rotations by multiples of 90 degrees, integer shifts and 2x magnification about the center
  // of an even-sized image read positions on OpenCV's 1/32 grid: exact up to float rounding.
  const AffineParams params[] = {{.rotation = 90},           {.rotation = 180},
                                 {.rotation = -90, .tx = 2}, {.tx = -3, .ty = 5},
                                 {.zx = 0.5f, .zy = 0.5f},   {.zx = 2, .zy = 0.5f}};
  for (const auto& p : params)
    for (FillMode mode : kModes) {
      const std::vector<float> image = test_image(28, 28, 0, true);
      EXPECT_LE(max_difference(image, 28, 28, p, mode, 100), 1e-2f)
          << "mode " << int(mode) << " rotation " << p.rotation << " shift " << p.tx << "," << p.ty;
    }
}

}  // namespace
}  // namespace convkit::data::transforms
