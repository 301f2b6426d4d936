// Dense: hand-computed values (with and without fused ReLU), finite-difference gradients,
// PyTorch-default parameters, shape and attribute errors.
#include "ops/dense.h"

#include "ops/registry.h"
#include "support/gradcheck.h"
#include "support/test_util.h"

#include <gtest/gtest.h>

#include <cmath>

namespace convkit::ops {
namespace {

using testing::error_of;
using testing::expect_contains;
using testing::values;

using testing::random_normal;

Tensor tensor_of(const Shape& shape, std::vector<float> values) {
  Tensor t = Tensor::empty(shape);
  EXPECT_EQ(std::int64_t(values.size()), t.numel());
  std::copy(values.begin(), values.end(), t.data<float>());
  return t;
}

// Values on a 0.5 grid in [-2, 2]; with biases of 0.125 + k/4 no output is within 1/8 of 0.
Tensor half_grid(const Shape& shape, std::uint64_t seed) {
  Tensor t = testing::random_uniform(shape, seed, -2.0f, 2.0f);
  for (std::int64_t i = 0; i < t.numel(); ++i)
    t.data<float>()[i] = std::round(t.data<float>()[i] * 2) / 2;
  return t;
}

// The hand example: x [N=2, K=3], W [U=2, K=3], b [U=2].
Tensor hand_x() {
  return tensor_of({2, 3}, {1, 2, 3, 4, 5, 6});
}
Tensor hand_w() {
  return tensor_of({2, 3}, {1, 0, -1, 0.5f, 0.5f, 0.5f});
}
Tensor hand_b() {
  return tensor_of({2}, {0.25f, -1});
}

TEST(DenseTest, ValuesByHand) {
  Dense op({.units = 2});
  auto y = testing::run_forward(op, {hand_x()}, {hand_w(), hand_b()});
  EXPECT_EQ(y[0].shape(), (Shape{2, 2}));
  EXPECT_EQ(values(y[0]), (std::vector<float>{-1.75f, 2.0f, -1.75f, 6.5f}));
}

TEST(DenseTest, FusedReluAndNoBias) {
  Dense relu({.units = 2, .activation = FusedActivation::ReLU});
  EXPECT_EQ(values(testing::run_forward(relu, {hand_x()}, {hand_w(), hand_b()})[0]),
            (std::vector<float>{0, 2, 0, 6.5f}));
  Dense plain({.units = 2, .bias = false});
  EXPECT_EQ(values(testing::run_forward(plain, {hand_x()}, {hand_w()})[0]),
            (std::vector<float>{-2, 3, -2, 7.5f}));
}

TEST(DenseTest, BackwardByHand) {
  // dy = ones: dx[n] = sum_u W[u] = [1.5, 0.5, -0.5]; dW[u] = sum_n x[n] = [5, 7, 9]; db = [2, 2].
  Dense op({.units = 2});
  Tensor dx = Tensor::zeros({2, 3}), dw = Tensor::zeros({2, 3}), db = Tensor::zeros({2});
  std::vector<Tensor> in{hand_x()}, params{hand_w(), hand_b()}, dy{Tensor::full({2, 2}, 1.0f)},
      gi{dx}, gp{dw, db};
  op.backward({.inputs = in,
               .outputs = {},
               .params = params,
               .saved = {},
               .grad_outputs = dy,
               .grad_inputs = gi,
               .grad_params = gp,
               .scratch = {}});
  EXPECT_EQ(values(dx), (std::vector<float>{1.5f, 0.5f, -0.5f, 1.5f, 0.5f, -0.5f}));
  EXPECT_EQ(values(dw), (std::vector<float>{5, 7, 9, 5, 7, 9}));
  EXPECT_EQ(values(db), (std::vector<float>{2, 2}));
}

TEST(DenseTest, GradientsBatch1) {
  Dense op({.units = 5});
  testing::expect_gradients_match(op, {random_normal({1, 7}, 1)},
                                  {random_normal({5, 7}, 2), random_normal({5}, 3)});
}

TEST(DenseTest, GradientsNoBias) {
  Dense op({.units = 4, .bias = false});
  testing::expect_gradients_match(op, {random_normal({3, 9}, 4)}, {random_normal({4, 9}, 5)});
}

TEST(DenseTest, GradientsFusedRelu) {
  Dense op({.units = 6, .activation = FusedActivation::ReLU});
  EXPECT_TRUE(op.backward_needs().outputs);
  Tensor x = half_grid({4, 5}, 6), w = half_grid({6, 5}, 7);
  Tensor b = tensor_of({6}, {0.125f, -0.125f, 0.375f, -0.375f, 0.625f, -0.625f});
  auto y = testing::run_forward(op, {x}, {w, b});
  int zeros = 0;
  for (float v : values(y[0])) zeros += v == 0.0f;
  EXPECT_GT(zeros, 0);  // the mask is exercised
  EXPECT_LT(zeros, y[0].numel());
  testing::expect_gradients_match(op, {x}, {w, b});
}

// Tanh and sigmoid fold in with derivatives written from y: 1 - y^2 and y (1 - y).
TEST(DenseTest, GradientsFusedTanhAndSigmoid) {
  for (FusedActivation act : {FusedActivation::Tanh, FusedActivation::Sigmoid}) {
    Dense op({.units = 5, .activation = act});
    EXPECT_TRUE(op.backward_needs().outputs);
    Tensor x = random_normal({3, 4}, 11), w = random_normal({5, 4}, 12), b = random_normal({5}, 13);
    Dense linear({.units = 5});
    auto pre = testing::run_forward(linear, {x}, {w, b});
    auto y = testing::run_forward(op, {x}, {w, b});
    for (std::int64_t i = 0; i < y[0].numel(); ++i) {
      const float s = pre[0].data<float>()[i];
      const float want = act == FusedActivation::Tanh ? std::tanh(s) : 1.0f / (1.0f + std::exp(-s));
      EXPECT_NEAR(y[0].data<float>()[i], want, 1e-6f);
    }
    testing::expect_gradients_match(op, {x}, {w, b});
  }
}

TEST(DenseTest, ParamsFollowPyTorchDefaults) {
  Dense op({.units = 10});
  std::vector<TensorSpec> in{{Shape{8, 120}}};
  EXPECT_EQ(op.infer(in)[0].shape, (Shape{8, 10}));
  auto p = op.params(in);
  ASSERT_EQ(p.size(), 2u);
  EXPECT_EQ(p[0].name, "weight");
  EXPECT_EQ(p[0].shape, (Shape{10, 120}));
  EXPECT_EQ(p[0].init.kind, InitKind::TorchUniform);
  EXPECT_EQ(p[0].fan_in, 120);
  EXPECT_EQ(p[0].fan_out, 10);
  EXPECT_TRUE(p[0].decay);
  EXPECT_EQ(p[1].name, "bias");
  EXPECT_EQ(p[1].shape, (Shape{10}));
  EXPECT_EQ(p[1].init.kind, InitKind::TorchUniform);
  EXPECT_EQ(p[1].fan_in, 120);
  EXPECT_FALSE(p[1].decay);
  EXPECT_EQ(op.flops(in), 2.0 * 8 * 120 * 10);
  // Initialized weights lie within +-1/sqrt(fan_in).
  auto w = testing::make_params(op, {Tensor::zeros({8, 120})});
  for (float v : values(w[0])) EXPECT_LE(std::fabs(v), 1.0f / std::sqrt(120.0f));
}

TEST(DenseTest, ShapeErrorsStateExpectedAndGot) {
  Dense op({.units = 10});
  std::vector<TensorSpec> image{{Shape{8, 3, 4, 4}}};
  expect_contains(error_of<ShapeError>([&] { op.infer(image); }),
                  "Dense expects a 2-D input [N, K], got [8, 3, 4, 4]");
  std::vector<TensorSpec> two{{Shape{8, 3}}, {Shape{8, 3}}};
  expect_contains(error_of<ShapeError>([&] { op.infer(two); }), "Dense takes 1 input, got 2");
}

TEST(DenseTest, BadAttributesAndRoundTrip) {
  expect_contains(error_of<Error>([] { Dense({.units = 0}); }), "'units' must be > 0, got 0");
  expect_contains(error_of<Error>([] {
                    make_op("Dense", {{"units", std::int64_t{-3}}});
                  }),
                  "'units' must be > 0, got -3");
  expect_contains(
      error_of<Error>([] {
        make_op("Dense", {{"units", std::int64_t{3}}, {"activation", std::string("softsign")}});
      }),
      "unknown fused activation 'softsign' (expected none, relu, sigmoid, tanh or relu6)");
  Dense op({.units = 7, .bias = false, .activation = FusedActivation::ReLU});
  auto rebuilt = make_op("Dense", op.attrs());
  const auto& a = dynamic_cast<const Dense&>(*rebuilt).dense_attrs();
  EXPECT_EQ(a.units, 7);
  EXPECT_FALSE(a.bias);
  EXPECT_EQ(a.activation, FusedActivation::ReLU);
  EXPECT_EQ(op.attrs().str(), "units=7, bias=false, activation=relu");
}

}  // namespace
}  // namespace convkit::ops

namespace convkit::ops {
namespace {

// Only the activation table's fusing kinds fold into Dense/Conv2D/MaxPool2D; ReLU6 is one.
TEST(DenseTest, FusedReLU6AndUnfusableKinds) {
  Dense op({.units = 3, .activation = FusedActivation::ReLU6});
  EXPECT_EQ(op.attrs().str(), "units=3, bias=true, activation=relu6");
  Tensor x = testing::random_normal({4, 5}, 1, 4.0f);
  auto params = testing::make_params(op, {x});
  testing::expect_gradients_match(op, {x}, params);
  EXPECT_THROW(Dense({.units = 3, .activation = FusedActivation::HardSwish}), Error);
  EXPECT_THROW(
      make_op("Dense", {{"units", std::int64_t{3}}, {"activation", std::string("hard_sigmoid")}}),
      Error);
}

}  // namespace
}  // namespace convkit::ops
