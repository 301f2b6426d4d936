// Softmax: values against exp(x_k) / sum_j exp(x_j) in double, huge logits without overflow,
// softmax over dim 1 of [N, K, H, W] at each position, finite-difference gradients.
#include "ops/softmax.h"

#include "ops/registry.h"
#include "support/gradcheck.h"

#include <gtest/gtest.h>

#include <cmath>

namespace convkit::ops {
namespace {

Tensor tensor_of(const Shape& shape, std::vector<float> values) {
  Tensor t = Tensor::empty(shape);
  std::copy(values.begin(), values.end(), t.data<float>());
  return t;
}

TEST(SoftmaxTest, RowsOfNK) {
  Softmax op;
  Tensor x = tensor_of({2, 3}, {1.0f, 2.0f, 3.0f, -1.0f, 0.0f, -1.0f});
  Tensor y = testing::run_forward(op, {x}, {})[0];
  const double e = std::exp(1.0);
  const double want[6] = {1 / (1 + e + e * e), e / (1 + e + e * e), e * e / (1 + e + e * e),
                          1 / (2 + e),         e / (2 + e),         1 / (2 + e)};
  for (int i = 0; i < 6; ++i) EXPECT_NEAR(y.data<float>()[i], want[i], 1e-7) << i;
}

TEST(SoftmaxTest, HugeLogitsStayFinite) {
  Softmax op;
  Tensor x = tensor_of({2, 3}, {1000.0f, 0.0f, -1000.0f, 3e38f, 3e38f, -3e38f});
  Tensor y = testing::run_forward(op, {x}, {})[0];
  const float want[6] = {1, 0, 0, 0.5f, 0.5f, 0};
  for (int i = 0; i < 6; ++i) EXPECT_EQ(y.data<float>()[i], want[i]) << i;
}

TEST(SoftmaxTest, OverChannelsAtEachPosition) {
  // [N, K, H, W] = [2, 4, 3, 2]: softmax over K for each (n, h, w).
  Softmax op;
  Tensor x = testing::random_normal({2, 4, 3, 2}, 1, 3.0f);
  Tensor y = testing::run_forward(op, {x}, {})[0];
  const float* xp = x.data<float>();
  for (int n = 0; n < 2; ++n)
    for (int p = 0; p < 6; ++p) {
      double sum = 0;
      for (int k = 0; k < 4; ++k) sum += std::exp(double(xp[(n * 4 + k) * 6 + p]));
      for (int k = 0; k < 4; ++k) {
        const int i = (n * 4 + k) * 6 + p;
        EXPECT_NEAR(y.data<float>()[i], std::exp(double(xp[i])) / sum, 1e-6)
            << n << " " << k << " " << p;
      }
    }
}

TEST(SoftmaxTest, LargeBatchMatchesRowByRow) {
  // Above the threading threshold, every row equals the row computed on its own.
  Softmax op;
  Tensor x = testing::random_normal({512, 100}, 2, 4.0f);
  Tensor y = testing::run_forward(op, {x}, {})[0];
  for (std::int64_t n = 0; n < 512; n += 37) {
    Tensor row = x.slice(n, n + 1).clone();
    Tensor yr = testing::run_forward(op, {row}, {})[0];
    for (int k = 0; k < 100; ++k) ASSERT_EQ(y.data<float>()[n * 100 + k], yr.data<float>()[k]);
  }
}

TEST(SoftmaxTest, GradientsMatchFiniteDifferences) {
  Softmax op;
  testing::expect_gradients_match(op, {testing::random_normal({3, 5}, 3)}, {});
  testing::expect_gradients_match(op, {testing::random_normal({2, 4, 3, 2}, 4)}, {});
}

TEST(SoftmaxTest, BackwardFormula) {
  // dx = y * (dy - sum(dy * y)): with dy = one-hot at j, dx_k = y_k (delta_kj - y_j).
  Softmax op;
  std::vector<Tensor> in{tensor_of({1, 3}, {0.5f, -1.0f, 2.0f})};
  std::vector<Tensor> out = testing::run_forward(op, in, {});
  std::vector<Tensor> dys{tensor_of({1, 3}, {0.0f, 1.0f, 0.0f})}, dxs{Tensor::full({1, 3}, NAN)};
  op.backward({.outputs = out, .grad_outputs = dys, .grad_inputs = dxs});
  const float* y = out[0].data<float>();
  for (int k = 0; k < 3; ++k)
    EXPECT_NEAR(dxs[0].data<float>()[k], y[k] * ((k == 1) - y[1]), 1e-7) << k;
}

TEST(SoftmaxTest, ShapeRules) {
  Softmax op;
  std::vector<TensorSpec> flat{{Shape{8}}};
  try {
    op.infer(flat);
    FAIL() << "expected ShapeError";
  } catch (const ShapeError& e) {
    EXPECT_NE(std::string(e.what()).find("[8]"), std::string::npos) << e.what();
  }
  std::vector<TensorSpec> ok{{Shape{8, 10}}};
  EXPECT_EQ(op.infer(ok)[0], ok[0]);
  EXPECT_EQ(make_op("Softmax", {})->type(), "Softmax");
}

}  // namespace
}  // namespace convkit::ops
