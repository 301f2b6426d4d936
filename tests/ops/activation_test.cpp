// Activation: values against each formula evaluated in double (including huge |x|, which must
// stay finite), derivatives at large |x|, finite-difference gradients, factories and attrs.
#include "ops/activation.h"

#include "ops/registry.h"
#include "support/gradcheck.h"

#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <numbers>

namespace convkit::ops {
namespace {

using testing::random_normal;

const std::vector<float> kPoints = {-1e30f, -1e4f, -100.0f, -20.0f, -3.0f, -0.5f,  -1e-3f, 0.0f,
                                    1e-3f,  0.25f, 2.0f,    7.5f,   20.0f, 100.0f, 1e4f,   1e30f};

Tensor points() {
  Tensor t = Tensor::empty({2, std::int64_t(kPoints.size()) / 2});
  std::copy(kPoints.begin(), kPoints.end(), t.data<float>());
  return t;
}

// dL/dx for dL/dy = dy, through forward then backward (inputs or outputs as the op needs).
Tensor gradient(const Activation& op, const Tensor& x, const Tensor& dy) {
  std::vector<Tensor> in{x};
  std::vector<Tensor> out = testing::run_forward(op, in, {}, Mode::Train);
  std::vector<Tensor> dys{dy}, dxs{Tensor::full(x.shape(), NAN)};
  BackwardCall call{.inputs = in, .outputs = out, .grad_outputs = dys, .grad_inputs = dxs};
  op.backward(call);
  return dxs[0];
}

// Checks y(x) against `want` (double) at every point; results must be finite.
void expect_values(const Activation& op, const std::function<double(double)>& want) {
  Tensor x = points();
  Tensor y = testing::run_forward(op, {x}, {})[0];
  for (std::int64_t i = 0; i < x.numel(); ++i) {
    const double xi = x.data<float>()[i], yi = y.data<float>()[i], wi = want(xi);
    ASSERT_TRUE(std::isfinite(yi)) << op.type() << " at x = " << xi;
    EXPECT_NEAR(yi, wi, 1e-30 + 2e-6 * std::fabs(wi)) << op.type() << " at x = " << xi;
  }
}

// Checks dy/dx against `want` at the points (upstream gradient 1).
void expect_derivatives(const Activation& op, const std::function<double(double)>& want) {
  Tensor x = points();
  Tensor dx = gradient(op, x, Tensor::full(x.shape(), 1.0f));
  for (std::int64_t i = 0; i < x.numel(); ++i) {
    const double xi = x.data<float>()[i], gi = dx.data<float>()[i], wi = want(xi);
    ASSERT_TRUE(std::isfinite(gi)) << op.type() << "' at x = " << xi;
    EXPECT_NEAR(gi, wi, 1e-6 + 1e-5 * std::fabs(wi)) << op.type() << "' at x = " << xi;
  }
}

double sigmoid(double x) {
  return x >= 0 ? 1 / (1 + std::exp(-x)) : std::exp(x) / (1 + std::exp(x));
}
double gelu_tanh_u(double x) {
  return std::sqrt(2 / std::numbers::pi) * (x + 0.044715 * x * x * x);
}

TEST(ActivationTest, ReLU) {
  Activation op(ActivationKind::ReLU);
  expect_values(op, [](double x) { return x > 0 ? x : 0.0; });
  expect_derivatives(op, [](double x) { return x > 0 ? 1.0 : 0.0; });
}

TEST(ActivationTest, LeakyReLUDefaultAndCustomAlpha) {
  Activation op(ActivationKind::LeakyReLU);
  EXPECT_DOUBLE_EQ(op.alpha(), 0.01);
  expect_values(op, [](double x) { return x > 0 ? x : 0.01 * x; });
  Activation op2(ActivationKind::LeakyReLU, {.alpha = 0.2});
  expect_values(op2, [](double x) { return x > 0 ? x : 0.2 * x; });
  expect_derivatives(op2, [](double x) { return x > 0 ? 1.0 : 0.2; });
}

TEST(ActivationTest, ELU) {
  Activation op(ActivationKind::ELU);
  EXPECT_DOUBLE_EQ(op.alpha(), 1.0);
  expect_values(op, [](double x) { return x > 0 ? x : std::exp(x) - 1; });
  Activation op2(ActivationKind::ELU, {.alpha = 0.5});
  expect_values(op2, [](double x) { return x > 0 ? x : 0.5 * (std::exp(x) - 1); });
  expect_derivatives(op2, [](double x) { return x > 0 ? 1.0 : 0.5 * std::exp(x); });
}

TEST(ActivationTest, GeluErf) {
  Activation op(ActivationKind::GELU);
  EXPECT_FALSE(op.gelu_tanh());
  expect_values(op, [](double x) { return 0.5 * x * (1 + std::erf(x / std::sqrt(2.0))); });
  expect_derivatives(op, [](double x) {
    return 0.5 * (1 + std::erf(x / std::sqrt(2.0))) +
           x * std::exp(-0.5 * x * x) / std::sqrt(2 * std::numbers::pi);
  });
}

TEST(ActivationTest, GeluTanh) {
  Activation op(ActivationKind::GELU, {.gelu_tanh = true});
  EXPECT_TRUE(op.gelu_tanh());
  expect_values(op, [](double x) { return 0.5 * x * (1 + std::tanh(gelu_tanh_u(x))); });
  expect_derivatives(op, [](double x) {
    if (std::fabs(x) > 1e3) return x > 0 ? 1.0 : 0.0;  // the limits (x^3 overflows in double)
    const double t = std::tanh(gelu_tanh_u(x));
    const double du = std::sqrt(2 / std::numbers::pi) * (1 + 3 * 0.044715 * x * x);
    return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * du;
  });
  // The two forms are close (max gap about 5e-4 on [-3, 3]) but not equal.
  Activation exact(ActivationKind::GELU);
  Tensor x = Tensor::full({1}, 1.0f);
  const float a = testing::run_forward(op, {x}, {})[0].data<float>()[0];
  const float b = testing::run_forward(exact, {x}, {})[0].data<float>()[0];
  EXPECT_NEAR(a, b, 1e-3);
  EXPECT_NE(a, b);
}

TEST(ActivationTest, SiLU) {
  Activation op(ActivationKind::SiLU);
  expect_values(op, [](double x) { return x * sigmoid(x); });
  expect_derivatives(op, [](double x) {
    const double s = sigmoid(x);
    return std::fabs(x) > 1e3 ? (x > 0 ? 1.0 : 0.0) : s * (1 + x * (1 - s));
  });
}

TEST(ActivationTest, Sigmoid) {
  Activation op(ActivationKind::Sigmoid);
  expect_values(op, sigmoid);
  expect_derivatives(op, [](double x) { return sigmoid(x) * (1 - sigmoid(x)); });
  // Far left tail: exp(-|x|) form keeps relative precision instead of underflowing 1 - s.
  Tensor x = Tensor::full({1}, -80.0f);
  EXPECT_NEAR(testing::run_forward(op, {x}, {})[0].data<float>()[0] / std::exp(-80.0), 1.0, 1e-5);
}

TEST(ActivationTest, Tanh) {
  Activation op(ActivationKind::Tanh);
  expect_values(op, [](double x) { return std::tanh(x); });
  expect_derivatives(op, [](double x) { return 1 - std::tanh(x) * std::tanh(x); });
}

// Inputs N(0, 2^2) kept at least 0.2 away from 0 (the kink of ReLU / LeakyReLU / ELU).
Tensor away_from_zero(const Shape& shape, std::uint64_t seed) {
  Tensor x = random_normal(shape, seed, 2.0f);
  for (std::int64_t i = 0; i < x.numel(); ++i) {
    float& v = x.data<float>()[i];
    v = v >= 0 ? v + 0.2f : v - 0.2f;
  }
  return x;
}

TEST(ActivationTest, GradientsMatchFiniteDifferences) {
  const Shape shape{2, 3, 4, 5};
  for (auto [kind, attrs] : std::vector<std::pair<ActivationKind, ActivationAttrs>>{
           {ActivationKind::ReLU, {}},
           {ActivationKind::LeakyReLU, {.alpha = 0.1}},
           {ActivationKind::ELU, {.alpha = 0.7}}}) {
    Activation op(kind, attrs);
    SCOPED_TRACE(std::string(op.type()));
    testing::expect_gradients_match(op, {away_from_zero(shape, 11)}, {});
  }
  for (auto [kind, attrs] : std::vector<std::pair<ActivationKind, ActivationAttrs>>{
           {ActivationKind::GELU, {}},
           {ActivationKind::GELU, {.gelu_tanh = true}},
           {ActivationKind::SiLU, {}},
           {ActivationKind::Sigmoid, {}},
           {ActivationKind::Tanh, {}}}) {
    Activation op(kind, attrs);
    SCOPED_TRACE(std::string(op.type()) + (attrs.gelu_tanh ? " tanh" : ""));
    testing::expect_gradients_match(op, {random_normal(shape, 12, 2.0f)}, {});
  }
}

TEST(ActivationTest, LargeTensorMatchesSmallChunks) {
  // Above the threading threshold, each element still equals the single-element result.
  Activation op(ActivationKind::GELU);
  Tensor x = random_normal({8, 64, 8, 16}, 5, 3.0f);
  Tensor y = testing::run_forward(op, {x}, {})[0];
  for (std::int64_t i = 0; i < x.numel(); i += 997) {
    Tensor xi = Tensor::full({1}, x.data<float>()[i]);
    EXPECT_EQ(y.data<float>()[i], testing::run_forward(op, {xi}, {})[0].data<float>()[0]);
  }
}

TEST(ActivationTest, BackwardNeedsOutputsOnlyWhereTheDerivativeUsesThem) {
  for (auto kind : {ActivationKind::ReLU, ActivationKind::Sigmoid, ActivationKind::Tanh}) {
    auto needs = Activation(kind).backward_needs();
    EXPECT_TRUE(needs.outputs && !needs.inputs) << Activation(kind).type();
  }
  for (auto kind : {ActivationKind::LeakyReLU, ActivationKind::ELU, ActivationKind::GELU,
                    ActivationKind::SiLU}) {
    auto needs = Activation(kind).backward_needs();
    EXPECT_TRUE(needs.inputs && !needs.outputs) << Activation(kind).type();
  }
}

TEST(ActivationTest, FactoriesReadAttrsAndRoundTrip) {
  auto leaky = make_op("LeakyReLU", {{"alpha", 0.3}});
  EXPECT_EQ(leaky->type(), "LeakyReLU");
  EXPECT_DOUBLE_EQ(dynamic_cast<const Activation&>(*leaky).alpha(), 0.3);
  EXPECT_EQ(leaky->attrs().str(), "alpha=0.3");
  EXPECT_DOUBLE_EQ(dynamic_cast<const Activation&>(*make_op("ELU", {})).alpha(), 1.0);
  EXPECT_DOUBLE_EQ(dynamic_cast<const Activation&>(*make_op("LeakyReLU", {})).alpha(), 0.01);

  auto gelu = make_op("GELU", {{"approximate", std::string("tanh")}});
  EXPECT_TRUE(dynamic_cast<const Activation&>(*gelu).gelu_tanh());
  EXPECT_EQ(gelu->attrs().str(), "approximate=tanh");
  auto exact = make_op("GELU", {{"approximate", std::string("none")}});
  EXPECT_FALSE(dynamic_cast<const Activation&>(*exact).gelu_tanh());
  EXPECT_EQ(exact->attrs().str(), "approximate=none");
  EXPECT_FALSE(dynamic_cast<const Activation&>(*make_op("GELU", {})).gelu_tanh());
  for (auto name : {"ReLU", "SiLU", "Sigmoid", "Tanh"}) {
    auto op = make_op(name, {});
    EXPECT_EQ(op->type(), name);
    EXPECT_TRUE(op->attrs().items().empty()) << name;
  }
  // A rebuilt op equals the original.
  auto rebuilt = make_op(leaky->type(), leaky->attrs());
  EXPECT_DOUBLE_EQ(dynamic_cast<const Activation&>(*rebuilt).alpha(), 0.3);
}

TEST(ActivationTest, BadAttrsAndInputsAreRejected) {
  try {
    make_op("GELU", {{"approximate", std::string("fast")}});
    FAIL() << "expected Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("'fast'"), std::string::npos) << e.what();
  }
  EXPECT_THROW(make_op("ELU", {{"alpha", -1.0}}), Error);
  Activation op(ActivationKind::ReLU);
  std::vector<TensorSpec> two{{Shape{2, 3}}, {Shape{2, 3}}};
  EXPECT_THROW(op.infer(two), ShapeError);
  std::vector<TensorSpec> labels{{Shape{4}, DType::i32}};
  EXPECT_THROW(op.infer(labels), ShapeError);
  std::vector<TensorSpec> one{{Shape{2, 3, 4}}};
  EXPECT_EQ(op.infer(one)[0], one[0]);
}

// Inputs N(0, 4^2) kept at least 0.2 away from each kink.
Tensor away_from(const Shape& shape, std::uint64_t seed, std::initializer_list<float> kinks) {
  Tensor x = random_normal(shape, seed, 4.0f);
  for (std::int64_t i = 0; i < x.numel(); ++i) {
    float& v = x.data<float>()[i];
    for (float k : kinks)
      if (std::fabs(v - k) < 0.2f) v = v >= k ? k + 0.2f + (v - k) : k - 0.2f + (v - k);
  }
  return x;
}

double clip(double x, double lo, double hi) {
  return std::min(std::max(x, lo), hi);
}

TEST(ActivationTest, ReLU6AndClip) {
  Activation relu6(ActivationKind::ReLU6);
  EXPECT_EQ(relu6.type(), "ReLU6");
  expect_values(relu6, [](double x) { return clip(x, 0, 6); });
  expect_derivatives(relu6, [](double x) { return x > 0 && x < 6 ? 1.0 : 0.0; });
  Activation clip_op(ActivationKind::Clip, {.min = -2.5, .max = 1.5});
  EXPECT_EQ(clip_op.attrs().str(), "min=-2.5, max=1.5");
  expect_values(clip_op, [](double x) { return clip(x, -2.5, 1.5); });
  expect_derivatives(clip_op, [](double x) { return x > -2.5 && x < 1.5 ? 1.0 : 0.0; });
}

TEST(ActivationTest, HardSwishAndHardSigmoidArePyTorchs) {
  Activation hs(ActivationKind::HardSwish);
  expect_values(hs, [](double x) { return x * clip(x + 3, 0, 6) / 6; });
  expect_derivatives(hs, [](double x) { return x < -3 ? 0.0 : x <= 3 ? (2 * x + 3) / 6 : 1.0; });
  Activation hsig(ActivationKind::HardSigmoid);
  expect_values(hsig, [](double x) { return clip(x + 3, 0, 6) / 6; });
  expect_derivatives(hsig, [](double x) { return x > -3 && x < 3 ? 1.0 / 6 : 0.0; });
}

TEST(ActivationTest, HardActivationGradientsMatchFiniteDifferences) {
  const Shape shape{2, 3, 4, 5};
  for (auto [kind, attrs] : std::vector<std::pair<ActivationKind, ActivationAttrs>>{
           {ActivationKind::ReLU6, {}},
           {ActivationKind::Clip, {.min = -1.0, .max = 2.0}},
           {ActivationKind::HardSwish, {}},
           {ActivationKind::HardSigmoid, {}}}) {
    Activation op(kind, attrs);
    SCOPED_TRACE(std::string(op.type()));
    testing::expect_gradients_match(op, {away_from(shape, 13, {-3, -1, 0, 2, 3, 6})}, {});
  }
}

TEST(ActivationTest, HardActivationsFollowTheTable) {
  for (auto kind : {ActivationKind::ReLU6, ActivationKind::Clip, ActivationKind::HardSigmoid})
    EXPECT_TRUE(Activation(kind).backward_needs().outputs &&
                !Activation(kind).backward_needs().inputs);
  EXPECT_TRUE(Activation(ActivationKind::HardSwish).backward_needs().inputs);
  for (auto name : {"ReLU6", "HardSwish", "HardSigmoid"}) {
    auto op = make_op(name, {});
    EXPECT_EQ(op->type(), name);
    EXPECT_TRUE(op->attrs().items().empty()) << name;
  }
  auto c = make_op("Clip", {{"min", -1.0}, {"max", 1.0}});
  auto rebuilt = make_op(c->type(), c->attrs());
  EXPECT_DOUBLE_EQ(dynamic_cast<const Activation&>(*rebuilt).alpha(), -1.0);
  EXPECT_DOUBLE_EQ(dynamic_cast<const Activation&>(*rebuilt).beta(), 1.0);
  EXPECT_THROW(make_op("Clip", {{"min", 2.0}, {"max", 1.0}}), Error);
  EXPECT_THROW(Activation(ActivationKind::Softmax), Error);
  EXPECT_THROW(Activation(ActivationKind::None), Error);
}

}  // namespace
}  // namespace convkit::ops
