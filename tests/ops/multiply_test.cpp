// Multiply: values, finite-difference gradients for both inputs (equal shapes and the
// squeeze-excitation broadcast [N, C, H, W] * [N, C, 1, 1]), shape rule, registry round trip.
#include "ops/multiply.h"

#include "ops/registry.h"
#include "support/gradcheck.h"

#include <gtest/gtest.h>

namespace convkit::ops {
namespace {

using testing::random_normal;

TEST(MultiplyTest, EqualShapesMultiplyElementwise) {
  Multiply op;
  Tensor a = random_normal({2, 3, 4, 5}, 1), b = random_normal({2, 3, 4, 5}, 2);
  auto y = testing::run_forward(op, {a, b}, {});
  for (std::int64_t i = 0; i < a.numel(); ++i)
    EXPECT_FLOAT_EQ(y[0].data<float>()[i], a.data<float>()[i] * b.data<float>()[i]);
}

TEST(MultiplyTest, GateBroadcastsOverHeightAndWidth) {
  Multiply op;
  Tensor a = random_normal({2, 3, 4, 5}, 1), g = random_normal({2, 3, 1, 1}, 2);
  auto y = testing::run_forward(op, {a, g}, {});
  for (std::int64_t i = 0; i < a.numel(); ++i)
    EXPECT_FLOAT_EQ(y[0].data<float>()[i], a.data<float>()[i] * g.data<float>()[i / 20]);
}

TEST(MultiplyTest, GradientsMatchFiniteDifferences) {
  Multiply op;
  testing::expect_gradients_match(
      op, {random_normal({2, 3, 4, 5}, 1), random_normal({2, 3, 4, 5}, 2)}, {});
  testing::expect_gradients_match(
      op, {random_normal({2, 3, 4, 5}, 3), random_normal({2, 3, 1, 1}, 4)}, {});
  testing::expect_gradients_match(op, {random_normal({3, 7}, 5), random_normal({3, 7}, 6)}, {});
}

TEST(MultiplyTest, OtherShapesAreRejectedNamingBoth) {
  Multiply op;
  std::vector<TensorSpec> in{{Shape{8, 16, 14, 14}}, {Shape{8, 16, 14, 1}}};
  try {
    op.infer(in);
    FAIL() << "expected ShapeError";
  } catch (const ShapeError& e) {
    EXPECT_NE(std::string(e.what()).find("[8, 16, 14, 14] and [8, 16, 14, 1]"), std::string::npos)
        << e.what();
  }
  std::vector<TensorSpec> swapped{{Shape{8, 16, 1, 1}}, {Shape{8, 16, 14, 14}}};
  EXPECT_THROW(op.infer(swapped), ShapeError);
  std::vector<TensorSpec> one{{Shape{8, 16}}};
  EXPECT_THROW(op.infer(one), ShapeError);
  EXPECT_EQ(make_op("Multiply", {})->type(), "Multiply");
}

}  // namespace
}  // namespace convkit::ops
