// Pad: values (borders = value, interior = x), finite-difference gradients (backward crops),
// shapes, bad attributes and the registry round trip.
#include "ops/pad.h"

#include "ops/registry.h"
#include "support/gradcheck.h"

#include <gtest/gtest.h>

namespace convkit::ops {
namespace {

using testing::random_normal;

TEST(PadTest, PadsHeightAndWidthWithTheValue) {
  Pad op({.pads = {1, 2, 0, 3}, .value = -0.5});
  Tensor x = random_normal({2, 3, 4, 5}, 1);
  std::vector<TensorSpec> in{{x.shape()}};
  EXPECT_EQ(op.infer(in)[0].shape, (Shape{2, 3, 5, 10}));
  Tensor y = testing::run_forward(op, {x}, {})[0];
  for (std::int64_t p = 0; p < 6; ++p)
    for (std::int64_t i = 0; i < 5; ++i)
      for (std::int64_t j = 0; j < 10; ++j) {
        const bool inside = i >= 1 && j >= 2 && j < 7;
        const float want = inside ? x.data<float>()[(p * 4 + i - 1) * 5 + j - 2] : -0.5f;
        EXPECT_EQ(y.data<float>()[(p * 5 + i) * 10 + j], want) << p << " " << i << " " << j;
      }
}

TEST(PadTest, GradientsMatchFiniteDifferences) {
  Pad op({.pads = {2, 1, 1, 3}});
  testing::expect_gradients_match(op, {random_normal({2, 3, 4, 5}, 1)}, {});
  Pad none({});
  testing::expect_gradients_match(none, {random_normal({1, 2, 3, 3}, 2)}, {});
}

TEST(PadTest, AttributesRoundTripAndBadOnesAreRejected) {
  Pad op({.pads = {1, 2, 3, 4}, .value = 1.5});
  EXPECT_EQ(op.attrs().str(), "pads=[1, 2, 3, 4], value=1.5");
  auto rebuilt = make_op("Pad", op.attrs());
  EXPECT_EQ(dynamic_cast<const Pad&>(*rebuilt).pad_attrs().pads, op.pad_attrs().pads);
  EXPECT_DOUBLE_EQ(dynamic_cast<const Pad&>(*rebuilt).pad_attrs().value, 1.5);
  EXPECT_THROW(make_op("Pad", {{"pads", std::vector<std::int64_t>{1, 2}}}), Error);
  EXPECT_THROW(Pad({.pads = {1, -1, 0, 0}}), Error);
  std::vector<TensorSpec> flat{{Shape{2, 3}}};
  EXPECT_THROW(op.infer(flat), ShapeError);
}

}  // namespace
}  // namespace convkit::ops
