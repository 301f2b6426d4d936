// GlobalAvgPool: per-plane means (with and without keepdims), the spread-out gradient,
// finite-difference gradients and the rank error.
#include "ops/global_avg_pool.h"

#include "ops/registry.h"
#include "support/gradcheck.h"
#include "support/test_util.h"

#include <gtest/gtest.h>

namespace convkit::ops {
namespace {

using testing::values;

Tensor iota(const Shape& shape) {
  Tensor t = Tensor::empty(shape);
  for (std::int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = float(i);
  return t;
}

TEST(GlobalAvgPoolTest, MeansOfEachPlane) {
  // x [N=2, C=2, H=2, W=3] = 0..23: plane p holds 6p .. 6p+5, mean 6p + 2.5.
  GlobalAvgPool op;
  auto y = testing::run_forward(op, {iota({2, 2, 2, 3})}, {});
  EXPECT_EQ(y[0].shape(), (Shape{2, 2}));
  EXPECT_EQ(values(y[0]), (std::vector<float>{2.5f, 8.5f, 14.5f, 20.5f}));
  GlobalAvgPool keep(true);
  auto yk = testing::run_forward(keep, {iota({2, 2, 2, 3})}, {});
  EXPECT_EQ(yk[0].shape(), (Shape{2, 2, 1, 1}));
  EXPECT_EQ(values(yk[0]), values(y[0]));
}

TEST(GlobalAvgPoolTest, GradientIsSpreadEvenly) {
  GlobalAvgPool op;
  Tensor dx = Tensor::full({1, 2, 2, 2}, NAN);
  std::vector<Tensor> dy{Tensor::empty({1, 2})}, gx{dx};
  dy[0].data<float>()[0] = 4;
  dy[0].data<float>()[1] = -2;
  op.backward({.inputs = {},
               .outputs = {},
               .params = {},
               .saved = {},
               .grad_outputs = dy,
               .grad_inputs = gx,
               .grad_params = {},
               .scratch = {}});
  EXPECT_EQ(values(dx), (std::vector<float>{1, 1, 1, 1, -0.5f, -0.5f, -0.5f, -0.5f}));
}

TEST(GlobalAvgPoolTest, GradientsMatchFiniteDifferences) {
  testing::expect_gradients_match(GlobalAvgPool(false), {testing::random_normal({1, 3, 5, 7}, 1)},
                                  {});
  testing::expect_gradients_match(GlobalAvgPool(true), {testing::random_normal({2, 2, 3, 2}, 2)},
                                  {});
}

TEST(GlobalAvgPoolTest, RankErrorAndAttrs) {
  GlobalAvgPool op;
  std::vector<TensorSpec> flat{{Shape{8, 64}}};
  try {
    op.infer(flat);
    FAIL() << "expected ShapeError";
  } catch (const ShapeError& e) {
    EXPECT_NE(std::string(e.what()).find("expects a 4-D input [N, C, H, W], got [8, 64]"),
              std::string::npos)
        << e.what();
  }
  std::vector<TensorSpec> in{{Shape{8, 64, 7, 5}}};
  EXPECT_EQ(op.flops(in), 8.0 * 64 * 7 * 5);
  EXPECT_FALSE(op.backward_needs().inputs);
  auto rebuilt = make_op("GlobalAvgPool", GlobalAvgPool(true).attrs());
  EXPECT_TRUE(dynamic_cast<const GlobalAvgPool&>(*rebuilt).keepdims());
  EXPECT_FALSE(dynamic_cast<const GlobalAvgPool&>(*make_op("GlobalAvgPool", {})).keepdims());
  EXPECT_EQ(rebuilt->attrs().str(), "keepdims=true");
}

}  // namespace
}  // namespace convkit::ops
