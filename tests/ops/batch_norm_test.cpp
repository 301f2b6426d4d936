// BatchNorm: Train-mode values, saved statistics and the running-statistics update checked
// against the formulas (2-D and 4-D), Infer-mode values, finite-difference gradients in both
// modes (with and without fused ReLU), shape and attribute errors.
#include "ops/batch_norm.h"

#include "ops/registry.h"
#include "support/gradcheck.h"
#include "support/test_util.h"

#include <gtest/gtest.h>

#include <omp.h>
#include <cmath>

namespace convkit::ops {
namespace {

using testing::error_of;
using testing::expect_contains;

using testing::random_normal;

Tensor tensor_of(const Shape& shape, std::vector<float> values) {
  Tensor t = Tensor::empty(shape);
  EXPECT_EQ(std::int64_t(values.size()), t.numel());
  std::copy(values.begin(), values.end(), t.data<float>());
  return t;
}

// One forward call that also returns the saved tensors (batch mean, inverse std).
struct Result {
  Tensor y, mean, invstd;
};
Result run(const BatchNorm& op, const Tensor& x, const std::vector<Tensor>& params, Mode mode) {
  const std::int64_t c = x.dim(1);
  Result r{Tensor::full(x.shape(), NAN), Tensor::full({c}, NAN), Tensor::full({c}, NAN)};
  std::vector<Tensor> in{x}, out{r.y}, saved{r.mean, r.invstd};
  op.forward({.inputs = in,
              .outputs = out,
              .params = params,
              .saved = saved,
              .scratch = {},
              .mode = mode});
  return r;
}

// The hand example: x [N=4, C=2]; channel 0 = 1, 2, 3, 4 (mean 2.5, var 1.25, unbiased 5/3),
// channel 1 = -1, 1, 3, 5 (mean 2, var 5, unbiased 20/3).
Tensor hand_x() {
  return tensor_of({4, 2}, {1, -1, 2, 1, 3, 3, 4, 5});
}
std::vector<Tensor> hand_params() {
  return {tensor_of({2}, {2, 0.5f}), tensor_of({2}, {1, -1}), tensor_of({2}, {0.5f, -1}),
          tensor_of({2}, {2, 1})};
}

TEST(BatchNormTest, TrainNormalizesWithBatchStatsAndUpdatesRunningStats) {
  BatchNorm op({.momentum = 0.25, .epsilon = 1e-3});
  auto params = hand_params();
  Result r = run(op, hand_x(), params, Mode::Train);
  const double mean[2] = {2.5, 2.0}, var[2] = {1.25, 5.0}, gamma[2] = {2, 0.5}, beta[2] = {1, -1};
  const Tensor xt = hand_x();
  const float* x = xt.data<float>();
  for (int i = 0; i < 8; ++i) {
    const int c = i % 2;
    const double expected = gamma[c] * (x[i] - mean[c]) / std::sqrt(var[c] + 1e-3) + beta[c];
    EXPECT_NEAR(r.y.data<float>()[i], expected, 1e-5) << "element " << i;
  }
  for (int c = 0; c < 2; ++c) {
    EXPECT_NEAR(r.mean.data<float>()[c], mean[c], 1e-6);
    EXPECT_NEAR(r.invstd.data<float>()[c], 1.0 / std::sqrt(var[c] + 1e-3), 1e-6);
  }
  // running = 0.75 * running + 0.25 * batch, with the unbiased batch variance.
  EXPECT_NEAR(params[2].data<float>()[0], 0.75 * 0.5 + 0.25 * 2.5, 1e-6);
  EXPECT_NEAR(params[2].data<float>()[1], 0.75 * -1 + 0.25 * 2.0, 1e-6);
  EXPECT_NEAR(params[3].data<float>()[0], 0.75 * 2 + 0.25 * (5.0 / 3.0), 1e-6);
  EXPECT_NEAR(params[3].data<float>()[1], 0.75 * 1 + 0.25 * (20.0 / 3.0), 1e-6);
}

TEST(BatchNormTest, FourDimensionalStatisticsSpanBatchAndSpace) {
  // x [N=2, C=2, H=1, W=2]: channel 0 holds 1, 2 (n=0) and 3, 4 (n=1); channel 1 holds 10, 30,
  // 50, 70.
  BatchNorm op({.momentum = 1.0, .epsilon = 1e-5});
  Tensor x = tensor_of({2, 2, 1, 2}, {1, 2, 10, 30, 3, 4, 50, 70});
  std::vector<Tensor> params{Tensor::full({2}, 1.0f), Tensor::zeros({2}), Tensor::zeros({2}),
                             Tensor::full({2}, 1.0f)};
  Result r = run(op, x, params, Mode::Train);
  EXPECT_FLOAT_EQ(r.mean.data<float>()[0], 2.5f);
  EXPECT_FLOAT_EQ(r.mean.data<float>()[1], 40.0f);
  const double inv0 = 1 / std::sqrt(1.25 + 1e-5), inv1 = 1 / std::sqrt(500.0 + 1e-5);
  const std::vector<double> expected{-1.5 * inv0, -0.5 * inv0, -30 * inv1, -10 * inv1,
                                     0.5 * inv0,  1.5 * inv0,  10 * inv1,  30 * inv1};
  for (int i = 0; i < 8; ++i)
    EXPECT_NEAR(r.y.data<float>()[i], expected[i], 1e-5) << "element " << i;
  // momentum 1: the running stats become the batch stats (unbiased variance 2000 / 3).
  EXPECT_FLOAT_EQ(params[2].data<float>()[1], 40.0f);
  EXPECT_NEAR(params[3].data<float>()[1], 2000.0 / 3.0, 1e-3);
}

TEST(BatchNormTest, InferUsesRunningStatsAndLeavesThemAlone) {
  BatchNorm op({.epsilon = 1e-2, .activation = FusedActivation::ReLU});
  auto params = hand_params();  // running mean [0.5, -1], running var [2, 1]
  Result r = run(op, hand_x(), params, Mode::Infer);
  const double rm[2] = {0.5, -1}, rv[2] = {2, 1}, gamma[2] = {2, 0.5}, beta[2] = {1, -1};
  const Tensor xt = hand_x();
  const float* x = xt.data<float>();
  int zeros = 0;
  for (int i = 0; i < 8; ++i) {
    const int c = i % 2;
    const double expected =
        std::max(0.0, gamma[c] * (x[i] - rm[c]) / std::sqrt(rv[c] + 1e-2) + beta[c]);
    zeros += expected == 0.0;
    EXPECT_NEAR(r.y.data<float>()[i], expected, 1e-5) << "element " << i;
  }
  EXPECT_EQ(zeros, 2);  // channel 1 at x = -1 and x = 1
  EXPECT_EQ(params[2].data<float>()[0], 0.5f);
  EXPECT_EQ(params[3].data<float>()[1], 1.0f);
}

TEST(BatchNormTest, TrainGradients4D) {
  BatchNorm op({});
  testing::expect_gradients_match(
      op, {random_normal({3, 2, 3, 5}, 1)},
      {random_normal({2}, 2), random_normal({2}, 3), Tensor::zeros({2}), Tensor::full({2}, 1.0f)});
}

TEST(BatchNormTest, TrainGradients2DBatch2) {
  BatchNorm op({});
  testing::expect_gradients_match(
      op, {random_normal({2, 3}, 4, 2.0f)},
      {random_normal({3}, 5), random_normal({3}, 6), Tensor::zeros({3}), Tensor::full({3}, 1.0f)});
  testing::expect_gradients_match(
      op, {random_normal({7, 4}, 7)},
      {random_normal({4}, 8), random_normal({4}, 9), Tensor::zeros({4}), Tensor::full({4}, 1.0f)});
}

TEST(BatchNormTest, TrainGradientsFusedRelu) {
  // x [N=2, C=3, H=2, W=3]: each channel holds +-0.15, +-0.45, ... +-1.65 (scaled and shifted per
  // channel) in shuffled order, so every normalized value is at least 0.14 away from the kink.
  BatchNorm op({.activation = FusedActivation::ReLU});
  Tensor x = Tensor::empty({2, 3, 2, 3});
  for (std::int64_t n = 0; n < 2; ++n)
    for (std::int64_t c = 0; c < 3; ++c)
      for (std::int64_t i = 0; i < 6; ++i) {
        const std::int64_t j = ((n * 6 + i) * 5 + c) % 12;
        x.data<float>()[(n * 3 + c) * 6 + i] =
            float((double(j) + 0.5 - 6.0) * 0.3 * (1 + 0.5 * c) + 0.7 * c);
      }
  std::vector<Tensor> params{tensor_of({3}, {1.5f, -0.8f, 0.6f}), Tensor::zeros({3}),
                             Tensor::zeros({3}), Tensor::full({3}, 1.0f)};
  Result r = run(op, x, params, Mode::Train);
  int zeros = 0;
  for (std::int64_t i = 0; i < x.numel(); ++i) zeros += r.y.data<float>()[i] == 0.0f;
  EXPECT_EQ(zeros, 18);  // half of every channel
  testing::expect_gradients_match(op, {x}, params);
}

TEST(BatchNormTest, InferGradientsAreAPerChannelAffineMap) {
  BatchNorm op({});
  std::vector<Tensor> params{random_normal({3}, 2), random_normal({3}, 3), random_normal({3}, 4),
                             testing::random_uniform({3}, 5, 0.5f, 2.0f)};
  testing::expect_gradients_match(op, {random_normal({2, 3, 4, 3}, 1)}, params,
                                  {.mode = Mode::Infer});
  testing::expect_gradients_match(op, {random_normal({5, 3}, 6)}, params, {.mode = Mode::Infer});
}

TEST(BatchNormTest, LargeCaseIsThreadCountInvariant) {
  BatchNorm op({.activation = FusedActivation::ReLU});
  Tensor x = random_normal({4, 8, 32, 33}, 21, 3.0f), dy = random_normal({4, 8, 32, 33}, 22);
  std::vector<Tensor> result[2];
  for (int t = 0; t < 2; ++t) {
    omp_set_num_threads(t == 0 ? 1 : 3);
    std::vector<Tensor> params{random_normal({8}, 23), random_normal({8}, 24), Tensor::zeros({8}),
                               Tensor::full({8}, 1.0f)};
    Result r = run(op, x, params, Mode::Train);
    std::vector<Tensor> in{x}, out{r.y}, saved{r.mean, r.invstd}, gy{dy};
    std::vector<Tensor> gx{Tensor::full(x.shape(), NAN)},
        gp{Tensor::full({8}, NAN), Tensor::full({8}, NAN), Tensor(), Tensor()};
    op.backward({.inputs = in,
                 .outputs = out,
                 .params = params,
                 .saved = saved,
                 .grad_outputs = gy,
                 .grad_inputs = gx,
                 .grad_params = gp,
                 .scratch = {}});
    result[t] = {r.y, r.mean, r.invstd, params[2], params[3], gx[0], gp[0], gp[1]};
  }
  omp_set_num_threads(omp_get_num_procs());
  for (std::size_t i = 0; i < result[0].size(); ++i)
    EXPECT_EQ(max_abs_diff(result[0][i], result[1][i]), 0.0f) << "tensor " << i;
  // The backward of a batch-normalized channel sums to zero (the mean is removed).
  double sum = 0;
  for (std::int64_t n = 0; n < 4; ++n)
    for (std::int64_t i = 0; i < 32 * 33; ++i)
      sum += result[0][5].data<float>()[(n * 8 + 3) * 32 * 33 + i];
  EXPECT_NEAR(sum, 0.0, 1e-3);
}

TEST(BatchNormTest, ParamsSavedAndAttrs) {
  BatchNorm op({.momentum = 0.01, .epsilon = 1e-3, .activation = FusedActivation::ReLU});
  std::vector<TensorSpec> in{{Shape{8, 16, 5, 5}}};
  EXPECT_EQ(op.infer(in)[0].shape, (Shape{8, 16, 5, 5}));
  auto p = op.params(in);
  ASSERT_EQ(p.size(), 4u);
  const char* names[] = {"gamma", "beta", "running_mean", "running_var"};
  const InitKind inits[] = {InitKind::Ones, InitKind::Zeros, InitKind::Zeros, InitKind::Ones};
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(p[i].name, names[i]);
    EXPECT_EQ(p[i].shape, (Shape{16}));
    EXPECT_EQ(p[i].init.kind, inits[i]);
    EXPECT_EQ(p[i].trainable, i < 2);
    EXPECT_FALSE(p[i].decay);
  }
  auto s = op.saved(in);
  ASSERT_EQ(s.size(), 2u);
  EXPECT_EQ(s[0].shape, (Shape{16}));
  EXPECT_TRUE(op.backward_needs().inputs);
  EXPECT_TRUE(op.backward_needs().outputs);
  auto rebuilt = make_op("BatchNorm", op.attrs());
  const auto& a = dynamic_cast<const BatchNorm&>(*rebuilt).bn_attrs();
  EXPECT_EQ(a.momentum, 0.01);
  EXPECT_EQ(a.epsilon, 1e-3);
  EXPECT_EQ(a.activation, FusedActivation::ReLU);
  EXPECT_EQ(op.attrs().str(), "momentum=0.01, epsilon=0.001, activation=relu");
}

TEST(BatchNormTest, ErrorsNameWhatWasExpected) {
  BatchNorm op({});
  std::vector<TensorSpec> seq{{Shape{8, 16, 10}}};
  expect_contains(
      error_of<ShapeError>([&] { op.infer(seq); }),
      "BatchNorm expects a 2-D input [N, C] or a 4-D input [N, C, H, W], got [8, 16, 10]");
  expect_contains(error_of<Error>([] { BatchNorm({.momentum = 1.5}); }),
                  "'momentum' must be in [0, 1], got 1.5");
  expect_contains(error_of<Error>([] {
                    make_op("BatchNorm", {{"momentum", -0.1}});
                  }),
                  "'momentum' must be in [0, 1], got -0.1");
  expect_contains(error_of<Error>([] {
                    make_op("BatchNorm", {{"epsilon", 0.0}});
                  }),
                  "'epsilon' must be > 0, got 0");
  expect_contains(error_of<Error>([] { BatchNorm({.epsilon = -1e-5}); }),
                  "'epsilon' must be > 0, got -1e-05");
  std::vector<Tensor> params{Tensor::full({3}, 1.0f), Tensor::zeros({3}), Tensor::zeros({3}),
                             Tensor::full({3}, 1.0f)};
  expect_contains(error_of<Error>([&] {
                    run(op, random_normal({1, 3, 1, 1}, 1), params, Mode::Train);
                  }),
                  "needs more than 1 value per channel, got input [1, 3, 1, 1]");
  // One value per channel is fine in Infer mode.
  EXPECT_NEAR(run(op, Tensor::full({1, 3}, 2.0f), params, Mode::Infer).y.data<float>()[0],
              2.0 / std::sqrt(1 + 1e-5), 1e-6);
}

}  // namespace
}  // namespace convkit::ops
