// Add: values and finite-difference gradients; mismatched shapes are rejected.
#include "ops/add.h"

#include "support/gradcheck.h"

#include <gtest/gtest.h>

namespace convkit::ops {
namespace {

using testing::random_normal;

TEST(AddTest, SumsInputs) {
  Add op;
  Tensor a = random_normal({2, 3, 4, 5}, 1), b = random_normal({2, 3, 4, 5}, 2),
         c = random_normal({2, 3, 4, 5}, 3);
  auto y = testing::run_forward(op, {a, b, c}, {});
  for (std::int64_t i = 0; i < a.numel(); ++i)
    EXPECT_FLOAT_EQ(y[0].data<float>()[i],
                    a.data<float>()[i] + b.data<float>()[i] + c.data<float>()[i]);
}

TEST(AddTest, GradientsMatchFiniteDifferences) {
  Add op;
  testing::expect_gradients_match(
      op, {random_normal({2, 3, 4, 5}, 1), random_normal({2, 3, 4, 5}, 2)}, {});
}

TEST(AddTest, MismatchedShapesNameBoth) {
  Add op;
  std::vector<TensorSpec> in{{Shape{8, 16, 14, 14}}, {Shape{8, 32, 14, 14}}};
  try {
    op.infer(in);
    FAIL() << "expected ShapeError";
  } catch (const ShapeError& e) {
    EXPECT_NE(std::string(e.what()).find("[8, 16, 14, 14] and [8, 32, 14, 14]"), std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace convkit::ops
