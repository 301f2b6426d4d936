// Resize, channel replication and normalization on hand-checkable cases (the comparison with
// OpenCV's cv::resize lives in tests/data_opencv).
#include <convkit/data/augment.h>

#include <gtest/gtest.h>

#include <numeric>

namespace convkit::data {
namespace {

Tensor ramp(const Shape& shape) {
  Tensor t = Tensor::empty(shape);
  std::iota(t.data<float>(), t.data<float>() + t.numel(), 0.0f);
  return t;
}

TEST(ResizeTest, SameSizeIsTheIdentity) {
  const Tensor x = ramp({2, 3, 5, 7});
  for (auto mode : {Interpolation::Nearest, Interpolation::Bilinear, Interpolation::Bicubic,
                    Interpolation::Area}) {
    Tensor y = Tensor::empty(x.shape());
    resize(x, y, mode);
    EXPECT_LT(max_abs_diff(x, y), 1e-4f) << int(mode);
  }
}

TEST(ResizeTest, NearestUpAndAreaDownAreExact) {
  const Tensor x = ramp({1, 2, 3});  // [C, H, W]: rows {0 1 2}, {3 4 5}
  Tensor up = Tensor::empty({1, 4, 6});
  resize(x, up, Interpolation::Nearest);
  const float* u = up.data<float>();
  for (int r = 0; r < 4; ++r)
    for (int c = 0; c < 6; ++c) EXPECT_EQ(u[r * 6 + c], x.data<float>()[(r / 2) * 3 + c / 2]);
  Tensor down = Tensor::empty({1, 2, 3});
  resize(up, down, Interpolation::Area);  // 2x2 block means give the original back
  EXPECT_LT(max_abs_diff(down, x), 1e-6f);
  // A 3x shrink of a 6-wide ramp averages triples: (0+1+2)/3, (3+4+5)/3.
  const Tensor row = ramp({1, 1, 6});
  Tensor third = Tensor::empty({1, 1, 2});
  resize(row, third, Interpolation::Area);
  EXPECT_FLOAT_EQ(third.data<float>()[0], 1.0f);
  EXPECT_FLOAT_EQ(third.data<float>()[1], 4.0f);
}

TEST(ResizeTest, BilinearUsesHalfPixelCenters) {
  const Tensor x = ramp({1, 1, 4});  // 0 1 2 3
  Tensor y = Tensor::empty({1, 1, 8});
  resize(x, y, Interpolation::Bilinear);
  // Output c reads (c + 0.5) / 2 - 0.5, clamped to [0, 3].
  const float want[8] = {0, 0.25f, 0.75f, 1.25f, 1.75f, 2.25f, 2.75f, 3};
  for (int c = 0; c < 8; ++c) EXPECT_FLOAT_EQ(y.data<float>()[c], want[c]) << c;
}

TEST(ResizeTest, U8RoundsAndSaturates) {
  Tensor x = Tensor::empty({1, 1, 1, 4}, DType::u8);
  const std::uint8_t px[4] = {0, 255, 0, 255};
  std::copy(px, px + 4, x.data<std::uint8_t>());
  Tensor y = Tensor::empty({1, 1, 1, 7}, DType::u8);
  resize(x, y, Interpolation::Bicubic);  // overshoots below 0 and above 255: saturated
  for (int c = 0; c < 7; ++c) EXPECT_LE(int(y.data<std::uint8_t>()[c]), 255);
  Tensor f = Tensor::empty({1, 1, 1, 7});
  EXPECT_THROW(resize(x, f, Interpolation::Bicubic), Error);  // dtypes differ
  Tensor n = Tensor::empty({2, 1, 1, 7}, DType::u8);
  EXPECT_THROW(resize(x, n, Interpolation::Bicubic), Error);  // N differs
}

TEST(ChannelsTest, ReplicateAndNormalize) {
  Tensor grey = Tensor::empty({2, 1, 2, 2}, DType::u8);
  for (int i = 0; i < 8; ++i) grey.data<std::uint8_t>()[i] = std::uint8_t(i * 30);
  Tensor rgb = Tensor::empty({2, 3, 2, 2}, DType::u8);
  replicate_channels(grey, rgb);
  for (int n = 0; n < 2; ++n)
    for (int k = 0; k < 3; ++k)
      for (int i = 0; i < 4; ++i)
        EXPECT_EQ(rgb.data<std::uint8_t>()[(n * 3 + k) * 4 + i],
                  grey.data<std::uint8_t>()[n * 4 + i]);
  Tensor x = Tensor::empty({2, 3, 2, 2});
  const std::vector<float> mean{0.1f, 0.2f, 0.3f}, std{0.5f, 0.25f, 2.0f};
  normalize(rgb, x, mean, std);
  for (int n = 0; n < 2; ++n)
    for (int k = 0; k < 3; ++k)
      for (int i = 0; i < 4; ++i)
        EXPECT_EQ(
            x.data<float>()[(n * 3 + k) * 4 + i],
            (float(rgb.data<std::uint8_t>()[(n * 3 + k) * 4 + i]) / 255.0f - mean[k]) / std[k]);
  EXPECT_THROW(normalize(rgb, x, std::vector<float>{0.1f, 0.2f}, std), Error);
  EXPECT_THROW(replicate_channels(rgb, rgb), Error);
}

}  // namespace
}  // namespace convkit::data
