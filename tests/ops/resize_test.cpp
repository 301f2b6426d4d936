// Resize: bilinear values against a direct evaluation of the half-pixel formula (and against the
// data::resize image resampler, which follows OpenCV's INTER_LINEAR), nearest, identity at the
// same size, finite-difference gradients (up- and downsampling), shapes, bad attributes and the
// registry round trip.
#include "ops/resize.h"

#include "ops/registry.h"
#include "support/gradcheck.h"

#include <convkit/data/augment.h>

#include <gtest/gtest.h>

#include <cmath>

namespace convkit::ops {
namespace {

using testing::random_normal;

// The half-pixel bilinear value of plane p at output (i, j), straight from the definition.
float bilinear_at(const Tensor& x, std::int64_t p, std::int64_t i, std::int64_t j, std::int64_t oh,
                  std::int64_t ow) {
  const std::int64_t h = x.dim(2), w = x.dim(3);
  auto coord = [](std::int64_t o, std::int64_t in, std::int64_t out) {
    return std::max(0.0, (double(o) + 0.5) * double(in) / double(out) - 0.5);
  };
  const double sy = coord(i, h, oh), sx = coord(j, w, ow);
  const auto y0 = std::min(std::int64_t(sy), h - 1), x0 = std::min(std::int64_t(sx), w - 1);
  const auto y1 = std::min(y0 + 1, h - 1), x1 = std::min(x0 + 1, w - 1);
  const double fy = sy - double(y0), fx = sx - double(x0);
  const float* q = x.data<float>() + p * h * w;
  return float((1 - fy) * ((1 - fx) * q[y0 * w + x0] + fx * q[y0 * w + x1]) +
               fy * ((1 - fx) * q[y1 * w + x0] + fx * q[y1 * w + x1]));
}

TEST(ResizeTest, BilinearFollowsTheHalfPixelDefinition) {
  const Tensor x = random_normal({2, 3, 5, 7}, 1);
  for (auto [oh, ow] : {std::pair<std::int64_t, std::int64_t>{9, 4}, {5, 7}, {2, 13}}) {
    Resize op({.height = oh, .width = ow});
    std::vector<TensorSpec> in{{x.shape()}};
    ASSERT_EQ(op.infer(in)[0].shape, (Shape{2, 3, oh, ow}));
    const Tensor y = testing::run_forward(op, {x}, {})[0];
    for (std::int64_t p = 0; p < 6; ++p)
      for (std::int64_t i = 0; i < oh; ++i)
        for (std::int64_t j = 0; j < ow; ++j)
          EXPECT_NEAR(y.data<float>()[(p * oh + i) * ow + j], bilinear_at(x, p, i, j, oh, ow),
                      1e-5f);
    // The image resampler (OpenCV's conventions) agrees.
    Tensor z = Tensor::empty({2, 3, oh, ow});
    data::resize(x, z, data::Interpolation::Bilinear);
    for (std::int64_t k = 0; k < z.numel(); ++k)
      EXPECT_NEAR(y.data<float>()[k], z.data<float>()[k], 1e-4f) << k;
  }
}

TEST(ResizeTest, NearestPicksTheFloorSource) {
  const Tensor x = random_normal({1, 1, 4, 6}, 2);
  Resize op({.height = 8, .width = 3, .mode = "nearest"});
  const Tensor y = testing::run_forward(op, {x}, {})[0];
  for (std::int64_t i = 0; i < 8; ++i)
    for (std::int64_t j = 0; j < 3; ++j)
      EXPECT_EQ(y.data<float>()[i * 3 + j], x.data<float>()[(i / 2) * 6 + j * 2]);
}

TEST(ResizeTest, GradientsMatchFiniteDifferences) {
  Resize up({.height = 7, .width = 9});
  testing::expect_gradients_match(up, {random_normal({2, 2, 4, 5}, 3)}, {});
  Resize down({.height = 3, .width = 2});
  testing::expect_gradients_match(down, {random_normal({1, 3, 7, 6}, 4)}, {});
  Resize nearest({.height = 5, .width = 3, .mode = "nearest"});
  testing::expect_gradients_match(nearest, {random_normal({1, 2, 4, 4}, 5)}, {});
}

TEST(ResizeTest, AttributesRoundTripAndBadOnesAreRejected) {
  Resize op({.height = 32, .width = 48, .mode = "nearest"});
  auto rebuilt = make_op("Resize", op.attrs());
  const auto& a = dynamic_cast<const Resize&>(*rebuilt).resize_attrs();
  EXPECT_EQ(a.height, 32);
  EXPECT_EQ(a.width, 48);
  EXPECT_EQ(a.mode, "nearest");
  EXPECT_THROW(Resize({.height = 0, .width = 4}), Error);
  EXPECT_THROW(Resize({.height = 4, .width = 4, .mode = "cubic"}), Error);
  std::vector<TensorSpec> flat{{Shape{2, 3}}};
  EXPECT_THROW(op.infer(flat), ShapeError);
}

}  // namespace
}  // namespace convkit::ops
