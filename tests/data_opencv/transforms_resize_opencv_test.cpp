// resize() against OpenCV's cv::resize, the oracle for its conventions: nearest, bilinear,
// bicubic and area interpolation, enlarging and shrinking by integer and fractional factors,
// on u8 and f32 noise images. Every result must lie within 1 grey level of OpenCV's.
#include <convkit/data/augment.h>
#include <convkit/util/rng.h>

#include <gtest/gtest.h>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cmath>

namespace convkit::data {
namespace {

struct Case {
  int h, w, oh, ow;
};

// Output sizes around a 37 x 29 image: 2x, 1.5x, 3x shrink, fractional shrink, mixed directions.
const Case kCases[] = {{37, 29, 74, 58}, {37, 29, 55, 43}, {36, 30, 12, 10}, {37, 29, 10, 8},
                       {37, 29, 20, 17}, {37, 29, 18, 14}, {28, 28, 56, 56}, {28, 28, 14, 14},
                       {28, 28, 19, 23}, {37, 29, 50, 20}, {9, 7, 64, 61},   {64, 61, 9, 7}};

int cv_mode(Interpolation mode) {
  switch (mode) {
    case Interpolation::Nearest:
      return cv::INTER_NEAREST;
    case Interpolation::Bilinear:
      return cv::INTER_LINEAR;
    case Interpolation::Bicubic:
      return cv::INTER_CUBIC;
    case Interpolation::Area:
      return cv::INTER_AREA;
  }
  return -1;
}

const char* name(Interpolation mode) {
  switch (mode) {
    case Interpolation::Nearest:
      return "nearest";
    case Interpolation::Bilinear:
      return "bilinear";
    case Interpolation::Bicubic:
      return "bicubic";
    case Interpolation::Area:
      return "area";
  }
  return "?";
}

// Our resize and OpenCV's on one plane of noise in [0, 255]; the largest difference.
template <typename T>
float max_difference(const Case& c, Interpolation mode, std::uint64_t key) {
  const DType dtype = std::is_same_v<T, float> ? DType::f32 : DType::u8;
  const int cv_type = std::is_same_v<T, float> ? CV_32FC1 : CV_8UC1;
  std::vector<float> noise(std::size_t(c.h * c.w));
  fill_uniform(noise.data(), std::int64_t(noise.size()), key, 0.0f, 256.0f);
  Tensor src = Tensor::empty({1, 1, c.h, c.w}, dtype),
         dst = Tensor::empty({1, 1, c.oh, c.ow}, dtype);
  T* s = static_cast<T*>(src.raw());
  for (std::size_t i = 0; i < noise.size(); ++i)
    s[i] = T(std::is_same_v<T, float> ? noise[i] : std::floor(noise[i]));
  resize(src, dst, mode);
  cv::Mat in(c.h, c.w, cv_type, s), out;
  cv::resize(in, out, cv::Size(c.ow, c.oh), 0, 0, cv_mode(mode));
  const T* d = static_cast<const T*>(dst.raw());
  float worst = 0;
  for (int r = 0; r < c.oh; ++r)
    for (int col = 0; col < c.ow; ++col)
      worst = std::max(worst, std::abs(float(d[r * c.ow + col]) - float(out.at<T>(r, col))));
  return worst;
}

TEST(ResizeOpenCvTest, WithinOneGreyLevelOfCvResize) {
  for (auto mode : {Interpolation::Nearest, Interpolation::Bilinear, Interpolation::Bicubic,
                    Interpolation::Area})
    for (const Case& c : kCases) {
      const float f32 = max_difference<float>(c, mode, 11),
                  u8 = max_difference<std::uint8_t>(c, mode, 12);
      EXPECT_LE(f32, 1.0f) << name(mode) << " f32 " << c.h << "x" << c.w << " -> " << c.oh << "x"
                           << c.ow;
      EXPECT_LE(u8, 1.0f) << name(mode) << " u8 " << c.h << "x" << c.w << " -> " << c.oh << "x"
                          << c.ow;
      if (mode == Interpolation::Nearest) {  // index arithmetic only: exact
        EXPECT_EQ(f32, 0.0f) << c.h << "x" << c.w << " -> " << c.oh << "x" << c.ow;
        EXPECT_EQ(u8, 0.0f) << c.h << "x" << c.w << " -> " << c.oh << "x" << c.ow;
      }
    }
}

TEST(ResizeOpenCvTest, FloatResultsAreCloseNotJustWithinAGreyLevel) {
  // On f32 OpenCV computes in floating point too, so the agreement is far tighter than 1.
  for (auto mode : {Interpolation::Bilinear, Interpolation::Bicubic, Interpolation::Area})
    for (const Case& c : kCases)
      EXPECT_LE(max_difference<float>(c, mode, 13), 0.05f)
          << name(mode) << " " << c.h << "x" << c.w << " -> " << c.oh << "x" << c.ow;
}

}  // namespace
}  // namespace convkit::data
