// SoftmaxCrossEntropy: the loss against PyTorch's definitions of F.cross_entropy (mean
// reduction, label_smoothing, weight) evaluated here in double, soft targets, huge logits,
// saved probabilities, finite-difference gradients w.r.t. the logits, and rejected labels/shapes.
#include "ops/softmax_cross_entropy.h"

#include "ops/registry.h"
#include "support/gradcheck.h"

#include <gtest/gtest.h>
#include <omp.h>

#include <cmath>
#include <cstring>

namespace convkit::ops {
namespace {

Tensor floats(const Shape& shape, std::vector<float> values) {
  Tensor t = Tensor::empty(shape);
  std::copy(values.begin(), values.end(), t.data<float>());
  return t;
}

Tensor labels(std::vector<std::int32_t> values) {
  Tensor t = Tensor::empty({std::int64_t(values.size())}, DType::i32);
  std::copy(values.begin(), values.end(), t.data<std::int32_t>());
  return t;
}

float loss_of(const SoftmaxCrossEntropy& op, const Tensor& logits, const Tensor& targets,
              Mode mode = Mode::Infer) {
  return testing::run_forward(op, {logits, targets}, {}, mode)[0].data<float>()[0];
}

// log softmax of row i of x [N, K], in double.
std::vector<double> log_softmax(const Tensor& x, std::int64_t i) {
  const std::int64_t k = x.dim(1);
  const float* row = x.data<float>() + i * k;
  double m = row[0], sum = 0;
  for (std::int64_t j = 1; j < k; ++j) m = std::max(m, double(row[j]));
  for (std::int64_t j = 0; j < k; ++j) sum += std::exp(row[j] - m);
  std::vector<double> out(k);
  for (std::int64_t j = 0; j < k; ++j) out[j] = row[j] - m - std::log(sum);
  return out;
}

// PyTorch, class-index targets (LossNLL.cpp, cross_entropy_loss_label_smoothing):
// (1-e) * nll_loss(logp, y, weight) + e/K * sum_i sum_k -w[k] logp[i,k] / sum_i w[y_i].
double torch_loss_labels(const Tensor& x, const std::vector<std::int32_t>& y, double e,
                         std::vector<double> w) {
  const std::int64_t n = x.dim(0), k = x.dim(1);
  if (w.empty()) w.assign(k, 1.0);
  double nll = 0, smooth = 0, wsum = 0;
  for (std::int64_t i = 0; i < n; ++i) {
    auto lp = log_softmax(x, i);
    nll += -w[y[i]] * lp[y[i]];
    wsum += w[y[i]];
    for (std::int64_t j = 0; j < k; ++j) smooth += -w[j] * lp[j];
  }
  return (1 - e) * nll / wsum + e / double(k) * smooth / wsum;
}

// PyTorch, probability targets (cross_entropy_loss_prob_target): t' = t(1-e) + e/K,
// loss = -sum(logp * t' * w) / N.
double torch_loss_soft(const Tensor& x, const Tensor& t, double e, std::vector<double> w) {
  const std::int64_t n = x.dim(0), k = x.dim(1);
  if (w.empty()) w.assign(k, 1.0);
  double total = 0;
  for (std::int64_t i = 0; i < n; ++i) {
    auto lp = log_softmax(x, i);
    for (std::int64_t j = 0; j < k; ++j)
      total += -lp[j] * (t.data<float>()[i * k + j] * (1 - e) + e / double(k)) * w[j];
  }
  return total / double(n);
}

TEST(SoftmaxCrossEntropyTest, SmallCaseByHand) {
  // Row 0: [0, 0, -30] with label 1 -> log 2. Row 1: [ln 3, 0, 0] label 0 -> -log(3/5).
  SoftmaxCrossEntropy op({});
  // Row 0's third logit, -30, adds exp(-30) ~ 1e-13 to its sum: negligible.
  Tensor x = floats({2, 3}, {0.0f, 0.0f, -30.0f, float(std::log(3.0)), 0.0f, 0.0f});
  const double want = (std::log(2.0) - std::log(3.0 / 5.0)) / 2;
  EXPECT_NEAR(loss_of(op, x, labels({1, 0})), want, 1e-6);
}

TEST(SoftmaxCrossEntropyTest, MatchesTorchDefinitionWithSmoothingAndWeights) {
  const Tensor x = testing::random_normal({5, 4}, 1, 2.0f);
  const std::vector<std::int32_t> y{0, 3, 1, 3, 2};
  const std::vector<double> w{1.0, 2.0, 0.5, 3.0};
  for (double e : {0.0, 0.1, 0.35}) {
    for (bool weighted : {false, true}) {
      SoftmaxCrossEntropy op(
          {.label_smoothing = e, .class_weights = weighted ? w : std::vector<double>{}});
      const double want = torch_loss_labels(x, y, e, weighted ? w : std::vector<double>{});
      EXPECT_NEAR(loss_of(op, x, labels(y)), want, 1e-6 * std::max(1.0, want))
          << "smoothing " << e << " weighted " << weighted;
    }
  }
}

TEST(SoftmaxCrossEntropyTest, SoftTargetsMatchTorchDefinition) {
  const Tensor x = testing::random_normal({4, 3}, 2, 2.0f);
  // Rows of soft targets summing to 1 (mixup-style), one of them one-hot.
  const Tensor t =
      floats({4, 3}, {0.7f, 0.3f, 0.0f, 0.0f, 0.0f, 1.0f, 0.2f, 0.2f, 0.6f, 0.5f, 0.0f, 0.5f});
  const std::vector<double> w{0.5, 1.5, 2.0};
  for (double e : {0.0, 0.2})
    for (bool weighted : {false, true}) {
      SoftmaxCrossEntropy op(
          {.label_smoothing = e, .class_weights = weighted ? w : std::vector<double>{}});
      const double want = torch_loss_soft(x, t, e, weighted ? w : std::vector<double>{});
      EXPECT_NEAR(loss_of(op, x, t), want, 1e-6 * std::max(1.0, want))
          << "smoothing " << e << " weighted " << weighted;
    }
  // Without weights, one-hot soft targets give the same loss as the labels.
  SoftmaxCrossEntropy op({.label_smoothing = 0.1});
  const Tensor onehot = floats({2, 3}, {0, 0, 1, 1, 0, 0});
  const Tensor x2 = x.slice(0, 2).clone();
  EXPECT_NEAR(loss_of(op, x2, onehot), loss_of(op, x2, labels({2, 0})), 1e-6);
}

TEST(SoftmaxCrossEntropyTest, HugeLogitsGiveFiniteLoss) {
  SoftmaxCrossEntropy op({.label_smoothing = 0.1});
  Tensor x = floats({2, 2}, {1000.0f, -1000.0f, 3e38f, -3e38f});
  const float loss = loss_of(op, x, labels({1, 0}));
  ASSERT_TRUE(std::isfinite(loss));
  // Row 0: -log p = [0, 2000]; target [0.05, 0.95] -> 1900. Row 1: -log p = [0, 6e38] in
  // double; target [0.95, 0.05] -> 3e37.
  EXPECT_NEAR(loss, (1900.0 + 0.05 * 6e38) / 2, 1e32);
  SoftmaxCrossEntropy plain({});
  EXPECT_NEAR(loss_of(plain, floats({1, 2}, {1000.0f, -1000.0f}), labels({1})), 2000.0, 1e-3);
}

TEST(SoftmaxCrossEntropyTest, SavesProbabilitiesInTraining) {
  SoftmaxCrossEntropy op({});
  Tensor x = testing::random_normal({3, 5}, 3);
  std::vector<TensorSpec> specs{{x.shape()}, {Shape{3}, DType::i32}};
  auto saved_specs = op.saved(specs);
  ASSERT_EQ(saved_specs.size(), 1u);
  EXPECT_EQ(saved_specs[0].shape, x.shape());
  std::vector<Tensor> in{x, labels({0, 4, 2})}, out{Tensor::zeros({1})},
      saved{Tensor::zeros({3, 5})};
  op.forward({.inputs = in, .outputs = out, .saved = saved, .mode = Mode::Train});
  for (std::int64_t i = 0; i < 3; ++i) {
    auto lp = log_softmax(x, i);
    for (int j = 0; j < 5; ++j)
      EXPECT_NEAR(saved[0].data<float>()[i * 5 + j], std::exp(lp[j]), 1e-6);
  }
}

TEST(SoftmaxCrossEntropyTest, GradientsMatchFiniteDifferences) {
  const Tensor x = testing::random_normal({6, 5}, 4);
  const Tensor y = labels({0, 4, 2, 2, 1, 3});
  testing::GradCheckOptions o{.eps = 1e-2f, .atol = 2e-3f, .rtol = 2e-2f};
  testing::expect_gradients_match(SoftmaxCrossEntropy({}), {x, y}, {}, o);
  testing::expect_gradients_match(
      SoftmaxCrossEntropy({.label_smoothing = 0.2, .class_weights = {1.0, 0.5, 2.0, 3.0, 0.25}}),
      {x, y}, {}, o);
  Tensor soft = testing::random_uniform({6, 5}, 5, 0.0f, 1.0f);
  for (int i = 0; i < 6; ++i) {  // normalize rows to sum to 1
    float s = 0;
    for (int j = 0; j < 5; ++j) s += soft.data<float>()[i * 5 + j];
    for (int j = 0; j < 5; ++j) soft.data<float>()[i * 5 + j] /= s;
  }
  testing::expect_gradients_match(
      SoftmaxCrossEntropy({.label_smoothing = 0.1, .class_weights = {1.0, 0.5, 2.0, 3.0, 0.25}}),
      {x, soft}, {}, o);
}

TEST(SoftmaxCrossEntropyTest, GradientIsScaledByUpstreamAndNeedsNoSavedProbs) {
  // Plain mean CE: dx = g * (p - onehot) / N. Backward without saved probs recomputes them.
  SoftmaxCrossEntropy op({});
  Tensor x = testing::random_normal({3, 4}, 6);
  std::vector<Tensor> in{x, labels({1, 0, 3})};
  std::vector<Tensor> dys{Tensor::full({1}, 2.5f)}, dxs{Tensor::full({3, 4}, NAN), Tensor()};
  op.backward({.inputs = in, .grad_outputs = dys, .grad_inputs = dxs});
  const std::int32_t y[3] = {1, 0, 3};
  for (std::int64_t i = 0; i < 3; ++i) {
    auto lp = log_softmax(x, i);
    for (int j = 0; j < 4; ++j)
      EXPECT_NEAR(dxs[0].data<float>()[i * 4 + j], 2.5 * (std::exp(lp[j]) - (j == y[i])) / 3.0,
                  1e-6);
  }
}

TEST(SoftmaxCrossEntropyTest, LossDoesNotDependOnThreadCount) {
  SoftmaxCrossEntropy op({.label_smoothing = 0.1});
  Tensor x = testing::random_normal({4096, 10}, 7, 3.0f);
  Tensor y = Tensor::empty({4096}, DType::i32);
  for (int i = 0; i < 4096; ++i) y.data<std::int32_t>()[i] = (i * 7) % 10;
  const int threads = omp_get_max_threads();
  omp_set_num_threads(1);
  const float one = loss_of(op, x, y);
  omp_set_num_threads(2);
  const float two = loss_of(op, x, y);
  omp_set_num_threads(threads);
  EXPECT_EQ(std::memcmp(&one, &two, sizeof one), 0) << one << " vs " << two;
}

TEST(SoftmaxCrossEntropyTest, LabelOutsideClassesNamesSampleAndValue) {
  SoftmaxCrossEntropy op({});
  Tensor x = testing::random_normal({3, 4}, 8);
  for (std::int32_t bad : {4, -1, 1000}) {
    try {
      loss_of(op, x, labels({0, 2, bad}));
      FAIL() << "expected Error for label " << bad;
    } catch (const Error& e) {
      const std::string msg = e.what();
      EXPECT_NE(msg.find("sample 2"), std::string::npos) << msg;
      EXPECT_NE(msg.find("label " + std::to_string(bad)), std::string::npos) << msg;
    }
  }
}

TEST(SoftmaxCrossEntropyTest, ShapeRulesAndAttrs) {
  SoftmaxCrossEntropy op({.class_weights = {1, 2, 3}});
  std::vector<TensorSpec> ok{{Shape{8, 3}}, {Shape{8}, DType::i32}};
  EXPECT_EQ(op.infer(ok)[0], (TensorSpec{Shape{1}, DType::f32}));
  std::vector<TensorSpec> soft{{Shape{8, 3}}, {Shape{8, 3}}};
  EXPECT_EQ(op.infer(soft)[0].shape, (Shape{1}));
  std::vector<TensorSpec> float_labels{{Shape{8, 3}}, {Shape{8}}};
  EXPECT_THROW(op.infer(float_labels), ShapeError);
  std::vector<TensorSpec> batch{{Shape{8, 3}}, {Shape{7}, DType::i32}};
  EXPECT_THROW(op.infer(batch), ShapeError);
  std::vector<TensorSpec> classes{{Shape{8, 4}}, {Shape{8}, DType::i32}};
  try {
    op.infer(classes);
    FAIL() << "expected ShapeError";
  } catch (const ShapeError& e) {
    EXPECT_NE(std::string(e.what()).find("3 class weights for 4 classes"), std::string::npos)
        << e.what();
  }
  EXPECT_FALSE(op.differentiable(1));
  EXPECT_TRUE(op.differentiable(0));
  EXPECT_THROW(SoftmaxCrossEntropy({.label_smoothing = 1.5}), Error);
  EXPECT_THROW(SoftmaxCrossEntropy({.class_weights = {1.0, -2.0}}), Error);

  auto made = make_op("SoftmaxCrossEntropy",
                      {{"label_smoothing", 0.1}, {"class_weights", std::vector<double>{1, 2}}});
  EXPECT_EQ(made->attrs().str(), "label_smoothing=0.1, class_weights=[1, 2]");
  const auto& a = dynamic_cast<const SoftmaxCrossEntropy&>(*made).loss_attrs();
  EXPECT_DOUBLE_EQ(a.label_smoothing, 0.1);
  EXPECT_EQ(a.class_weights, (std::vector<double>{1, 2}));
  EXPECT_EQ(make_op("SoftmaxCrossEntropy", {})->attrs().str(), "label_smoothing=0");
}

}  // namespace
}  // namespace convkit::ops
