// MaxPool2D / AvgPool2D: hand-computed windows (valid, same, explicit pads, count_include_pad),
// the first-maximum gradient rule, finite-difference gradients, shape and attribute errors.
#include "ops/pool2d.h"

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

Tensor tensor_of(const Shape& shape, std::vector<float> values) {
  Tensor t = Tensor::empty(shape);
  EXPECT_EQ(std::int64_t(values.size()), t.numel());
  std::copy(values.begin(), values.end(), t.data<float>());
  return t;
}

Tensor iota(const Shape& shape, float start = 1.0f, float step = 1.0f) {
  Tensor t = Tensor::empty(shape);
  for (std::int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = start + step * float(i);
  return t;
}

// Distinct values 0.05 apart in shuffled order: no two window elements are within 2 * eps of
// each other, so finite differences never move an argmax.
Tensor distinct(const Shape& shape) {
  Tensor t = Tensor::empty(shape);
  const std::int64_t n = t.numel();
  for (std::int64_t i = 0; i < n; ++i)
    t.data<float>()[i] = float((i * 7919) % n) * 0.05f - float(n) * 0.025f;
  return t;
}

// Runs backward with the given dy and returns dx.
Tensor grad_input(const Pool2D& op, const Tensor& x, const Tensor& dy) {
  Tensor dx = Tensor::full(x.shape(), NAN);
  std::vector<Tensor> in{x}, gy{dy}, gx{dx};
  op.backward({.inputs = in,
               .outputs = {},
               .params = {},
               .saved = {},
               .grad_outputs = gy,
               .grad_inputs = gx,
               .grad_params = {},
               .scratch = {}});
  return dx;
}

TEST(Pool2DTest, MaxStrideDefaultsToKernel) {
  Pool2D op(PoolKind::Max, {.kernel = {2, 2}});
  EXPECT_EQ(op.pool_attrs().stride, (std::array<std::int64_t, 2>{2, 2}));
  EXPECT_EQ(op.type(), "MaxPool2D");
  auto y = testing::run_forward(op, {iota({1, 1, 4, 4})}, {});
  EXPECT_EQ(y[0].shape(), (Shape{1, 1, 2, 2}));
  EXPECT_EQ(values(y[0]), (std::vector<float>{6, 8, 14, 16}));
}

TEST(Pool2DTest, SamePaddingOnOddInput) {
  // 3x3 input [1..9], kernel 2, stride 2, same: pads (0, 0, 1, 1); windows {1,2,4,5}, {3,6}, {7,8},
  // {9}.
  Pool2DAttrs a{.kernel = {2, 2}, .stride = {2, 2}, .padding = Padding::Same};
  Tensor x = iota({1, 1, 3, 3});
  EXPECT_EQ(values(testing::run_forward(Pool2D(PoolKind::Max, a), {x}, {})[0]),
            (std::vector<float>{5, 6, 8, 9}));
  EXPECT_EQ(values(testing::run_forward(Pool2D(PoolKind::Avg, a), {x}, {})[0]),
            (std::vector<float>{3, 4.5f, 7.5f, 9}));
  a.count_include_pad = true;
  EXPECT_EQ(values(testing::run_forward(Pool2D(PoolKind::Avg, a), {x}, {})[0]),
            (std::vector<float>{3, 2.25f, 3.75f, 2.25f}));
}

TEST(Pool2DTest, PaddedCellsNeverWinAMax) {
  Pool2D op(
      PoolKind::Max,
      {.kernel = {3, 3}, .stride = {1, 1}, .padding = Padding::Explicit, .pads = {1, 1, 1, 1}});
  auto y = testing::run_forward(op, {iota({1, 1, 3, 3}, -1.0f, -1.0f)}, {});  // [-1 .. -9]
  EXPECT_EQ(values(y[0]), (std::vector<float>{-1, -1, -2, -1, -1, -2, -4, -4, -5}));
}

TEST(Pool2DTest, MaxGradientGoesToTheFirstMaximum) {
  Pool2D op(PoolKind::Max, {.kernel = {2, 2}});
  Tensor x = tensor_of({1, 1, 2, 2}, {1, 3, 3, 2});
  EXPECT_EQ(values(grad_input(op, x, tensor_of({1, 1, 1, 1}, {1}))),
            (std::vector<float>{0, 1, 0, 0}));
  // Overlapping windows add up: both windows of [1, 5, 2] pick the 5.
  Pool2D overlap(PoolKind::Max, {.kernel = {1, 2}, .stride = {1, 1}});
  Tensor x2 = tensor_of({1, 1, 1, 3}, {1, 5, 2});
  EXPECT_EQ(values(grad_input(overlap, x2, tensor_of({1, 1, 1, 2}, {1, 2}))),
            (std::vector<float>{0, 3, 0}));
  // NaN propagates through the max.
  auto y = testing::run_forward(op, {tensor_of({1, 1, 2, 2}, {1, NAN, 3, 2})}, {});
  EXPECT_TRUE(std::isnan(y[0].data<float>()[0]));
}

TEST(Pool2DTest, AvgGradientSpreadsOverCountedCells) {
  Pool2D op(PoolKind::Avg, {.kernel = {2, 2}, .stride = {2, 2}, .padding = Padding::Same});
  EXPECT_FALSE(op.backward_needs().inputs);
  // No inputs are passed: average pooling takes its geometry from the gradient tensors.
  Tensor g = Tensor::full({1, 1, 3, 3}, NAN);
  std::vector<Tensor> gy{Tensor::full({1, 1, 2, 2}, 1.0f)}, gx{g};
  op.backward({.inputs = {},
               .outputs = {},
               .params = {},
               .saved = {},
               .grad_outputs = gy,
               .grad_inputs = gx,
               .grad_params = {},
               .scratch = {}});
  EXPECT_EQ(values(g), (std::vector<float>{0.25f, 0.25f, 0.5f, 0.25f, 0.25f, 0.5f, 0.5f, 0.5f, 1}));
}

TEST(Pool2DTest, MaxGradientsOverlappingStride2Same) {
  Pool2D op(PoolKind::Max, {.kernel = {3, 3}, .stride = {2, 2}, .padding = Padding::Same});
  EXPECT_TRUE(op.backward_needs().inputs);
  testing::expect_gradients_match(op, {distinct({1, 3, 5, 8})}, {});
}

TEST(Pool2DTest, MaxGradientsExplicitPads) {
  Pool2D op(
      PoolKind::Max,
      {.kernel = {2, 3}, .stride = {1, 2}, .padding = Padding::Explicit, .pads = {1, 2, 0, 1}});
  testing::expect_gradients_match(op, {distinct({2, 2, 4, 7})}, {});
}

TEST(Pool2DTest, AvgGradients) {
  for (bool include : {false, true}) {
    Pool2D same(PoolKind::Avg, {.kernel = {3, 2},
                                .stride = {2, 2},
                                .padding = Padding::Same,
                                .count_include_pad = include});
    testing::expect_gradients_match(same, {testing::random_normal({1, 3, 5, 7}, 1)}, {});
    Pool2D pads(PoolKind::Avg, {.kernel = {3, 3},
                                .stride = {2, 1},
                                .padding = Padding::Explicit,
                                .pads = {2, 1, 1, 0},
                                .count_include_pad = include});
    testing::expect_gradients_match(pads, {testing::random_normal({2, 2, 6, 5}, 2)}, {});
  }
}

// A fused activation applies to the max (relu(max) = max(relu)), and its derivative to dy.
TEST(Pool2DTest, MaxWithFusedActivationIsTheActivationOfTheMax) {
  Pool2D op(PoolKind::Max, {.activation = FusedActivation::ReLU});
  EXPECT_TRUE(op.backward_needs().inputs);
  EXPECT_TRUE(op.backward_needs().outputs);
  const Tensor x = tensor_of({1, 1, 2, 4}, {-3, -1, 2, -5, -2, -4, 1, 0.5f});
  Tensor y = Tensor::full({1, 1, 1, 2}, NAN);
  std::vector<Tensor> in{x}, out{y};
  op.forward({.inputs = in, .outputs = out});
  EXPECT_EQ(values(y), (std::vector<float>{0.0f, 2.0f}));
  const Tensor dy = tensor_of({1, 1, 1, 2}, {10, 20});
  Tensor dx = Tensor::full(x.shape(), NAN);
  std::vector<Tensor> gy{dy}, gx{dx};
  op.backward({.inputs = in, .outputs = out, .grad_outputs = gy, .grad_inputs = gx});
  // The first window's max (-1) is cut by the ReLU: no gradient; the second goes to its max.
  EXPECT_EQ(values(dx), (std::vector<float>{0, 0, 20, 0, 0, 0, 0, 0}));
}

TEST(Pool2DTest, MaxWithFusedActivationGradients) {
  for (FusedActivation act :
       {FusedActivation::ReLU, FusedActivation::Tanh, FusedActivation::Sigmoid}) {
    Pool2D op(PoolKind::Max,
              {.kernel = {3, 3}, .stride = {2, 2}, .padding = Padding::Same, .activation = act});
    Tensor x = distinct({2, 2, 5, 6});
    for (std::int64_t i = 0; i < x.numel(); ++i) x.data<float>()[i] += 0.013f;  // off ReLU's kink
    testing::expect_gradients_match(op, {x}, {});
  }
}

TEST(Pool2DTest, ShapeErrorsStateExpectedAndGot) {
  Pool2D op(PoolKind::Max, {.kernel = {3, 3}});
  std::vector<TensorSpec> small{{Shape{1, 1, 2, 5}}};
  expect_contains(
      error_of<ShapeError>([&] { op.infer(small); }),
      "MaxPool2D on input [1, 1, 2, 5]: height window of extent 3 (kernel 3, dilation 1) "
      "does not fit the padded size 2");
  std::vector<TensorSpec> flat{{Shape{4, 10}}};
  expect_contains(error_of<ShapeError>([&] { Pool2D(PoolKind::Avg, {}).infer(flat); }),
                  "AvgPool2D expects a 4-D input [N, C, H, W], got [4, 10]");
  // Same padding always fits.
  Pool2D same(PoolKind::Max, {.kernel = {3, 3}, .stride = {2, 2}, .padding = Padding::Same});
  EXPECT_EQ(same.infer(small)[0].shape, (Shape{1, 1, 1, 3}));
  EXPECT_EQ(same.flops(small), 3.0 * 9);
}

TEST(Pool2DTest, BadAttributesNameAttributeAndValue) {
  using V = std::vector<std::int64_t>;
  expect_contains(error_of<Error>([] {
                    Pool2D(PoolKind::Max, {.kernel = {0, 2}});
                  }),
                  "MaxPool2D attribute 'kernel' must be >= 1, got [0, 2]");
  expect_contains(
      error_of<Error>([] {
        make_op("AvgPool2D", {{"stride", std::int64_t{-1}}});
      }),
      "AvgPool2D attribute 'stride' must be >= 1 (or 0 for the kernel size), got [-1, -1]");
  expect_contains(error_of<Error>([] {
                    make_op("MaxPool2D", {{"kernel", V{2, 2}}, {"pads", V{0, 2, 0, 0}}});
                  }),
                  "'pads' [0, 2, 0, 0] must be >= 0 and smaller than the kernel [2, 2]");
  expect_contains(error_of<Error>([] {
                    make_op("MaxPool2D", {{"kernel", V{2, 2, 2}}});
                  }),
                  "'kernel' must be an integer or a list of 2 integers, got [2, 2, 2]");
  expect_contains(error_of<Error>([] {
                    make_op("AvgPool2D", {{"activation", std::string("relu")}});
                  }),
                  "AvgPool2D attribute 'activation' applies to max pooling only, got 'relu'");
}

TEST(Pool2DTest, AttrsRebuildTheSameOp) {
  Pool2D avg(PoolKind::Avg, {.kernel = {3, 2},
                             .padding = Padding::Explicit,
                             .pads = {1, 0, 2, 1},
                             .count_include_pad = true});
  EXPECT_EQ(
      avg.attrs().str(),
      "kernel=[3, 2], stride=[3, 2], padding=explicit, pads=[1, 0, 2, 1], count_include_pad=true");
  auto rebuilt = make_op("AvgPool2D", avg.attrs());
  const auto& p = dynamic_cast<const Pool2D&>(*rebuilt);
  EXPECT_EQ(p.kind(), PoolKind::Avg);
  EXPECT_EQ(p.pool_attrs().kernel, avg.pool_attrs().kernel);
  EXPECT_EQ(p.pool_attrs().stride, avg.pool_attrs().stride);
  EXPECT_EQ(p.pool_attrs().pads, avg.pool_attrs().pads);
  EXPECT_TRUE(p.pool_attrs().count_include_pad);
  auto max = make_op(
      "MaxPool2D",
      {{"kernel", std::int64_t{3}}, {"stride", std::int64_t{2}}, {"padding", std::string("same")}});
  EXPECT_EQ(max->type(), "MaxPool2D");
  EXPECT_EQ(max->attrs().str(), "kernel=[3, 3], stride=[2, 2], padding=same");
  auto fused = make_op("MaxPool2D", {{"activation", std::string("tanh")}});
  EXPECT_EQ(fused->attrs().str(), "kernel=[2, 2], stride=[2, 2], padding=valid, activation=tanh");
  EXPECT_EQ(dynamic_cast<const Pool2D&>(*fused).pool_attrs().activation, FusedActivation::Tanh);
}

}  // namespace
}  // namespace convkit::ops
