// Conv2D: padding arithmetic, hand-computed forward values, agreement with a naive oracle on
// grouped/dilated/strided cases, finite-difference gradients, shape and attribute errors.
#include "ops/conv2d.h"

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
using testing::values;

using testing::random_normal;

Tensor tensor_of(const Shape& shape, std::vector<float> values) {
  Tensor t = Tensor::empty(shape);
  EXPECT_EQ(std::int64_t(values.size()), t.numel());
  std::copy(values.begin(), values.end(), t.data<float>());
  return t;
}

Tensor iota(const Shape& shape, float start = 1.0f) {
  Tensor t = Tensor::empty(shape);
  for (std::int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = start + float(i);
  return t;
}

// Values on a 0.5 grid in [-2, 2]: with a bias of 0.125 + k/4, every pre-activation is an odd
// multiple of 1/8, so no output sits within 0.125 of the ReLU kink.
Tensor half_grid(const Shape& shape, std::uint64_t seed) {
  Tensor t = testing::random_uniform(shape, seed, -2.0f, 2.0f);
  for (std::int64_t i = 0; i < t.numel(); ++i)
    t.data<float>()[i] = std::round(t.data<float>()[i] * 2) / 2;
  return t;
}

// Direct definition: y[n,f,i,j] = b[f] + sum_{c,p,q} w[f,c,p,q] x[n, g*Cg+c, i*sh-pt+p*dh,
// j*sw-pl+q*dw].
Tensor naive_conv(const Conv2D& op, const Tensor& x, const Tensor& w, const Tensor* b) {
  const auto& a = op.conv_attrs();
  const std::int64_t n_ = x.dim(0), c_ = x.dim(1), h = x.dim(2), wd = x.dim(3);
  const Pads p = op.resolved_pads(h, wd);
  const std::int64_t oh =
      (h + p[0] + p[2] - (a.kernel[0] - 1) * a.dilation[0] - 1) / a.stride[0] + 1;
  const std::int64_t ow =
      (wd + p[1] + p[3] - (a.kernel[1] - 1) * a.dilation[1] - 1) / a.stride[1] + 1;
  const std::int64_t f_ = a.filters, cg = c_ / a.groups, fg = f_ / a.groups;
  Tensor y = Tensor::zeros({n_, f_, oh, ow});
  for (std::int64_t n = 0; n < n_; ++n)
    for (std::int64_t f = 0; f < f_; ++f)
      for (std::int64_t i = 0; i < oh; ++i)
        for (std::int64_t j = 0; j < ow; ++j) {
          double s = b ? b->data<float>()[f] : 0.0;
          for (std::int64_t c = 0; c < cg; ++c)
            for (std::int64_t u = 0; u < a.kernel[0]; ++u)
              for (std::int64_t v = 0; v < a.kernel[1]; ++v) {
                std::int64_t r = i * a.stride[0] - p[0] + u * a.dilation[0];
                std::int64_t q = j * a.stride[1] - p[1] + v * a.dilation[1];
                if (r < 0 || r >= h || q < 0 || q >= wd) continue;
                std::int64_t ci = (f / fg) * cg + c;
                s += double(w.data<float>()[((f * cg + c) * a.kernel[0] + u) * a.kernel[1] + v]) *
                     double(x.data<float>()[((n * c_ + ci) * h + r) * wd + q]);
              }
          y.data<float>()[((n * f_ + f) * oh + i) * ow + j] = float(s);
        }
  return y;
}

TEST(Conv2DTest, PaddingNames) {
  for (Padding p : {Padding::Valid, Padding::Same, Padding::Explicit})
    EXPECT_EQ(padding_from_name(name_of(p)), p);
  expect_contains(error_of<Error>([] { padding_from_name("full"); }), "unknown padding 'full'");
}

TEST(Conv2DTest, SamePaddingPutsTheOddPixelAfter) {
  using P = std::array<std::int64_t, 2>;
  EXPECT_EQ(resolve_pads_1d(Padding::Same, 6, 3, 2, 1, 0, 0), (P{0, 1}));  // out 3
  EXPECT_EQ(resolve_pads_1d(Padding::Same, 7, 3, 2, 1, 0, 0), (P{1, 1}));  // out 4
  EXPECT_EQ(resolve_pads_1d(Padding::Same, 4, 2, 1, 1, 0, 0), (P{0, 1}));  // even kernel
  EXPECT_EQ(resolve_pads_1d(Padding::Same, 5, 3, 1, 2, 0, 0), (P{2, 2}));  // dilated extent 5
  EXPECT_EQ(resolve_pads_1d(Padding::Same, 5, 1, 3, 1, 0, 0), (P{0, 0}));  // never negative
  EXPECT_EQ(resolve_pads_1d(Padding::Valid, 5, 3, 1, 1, 4, 4), (P{0, 0}));
  EXPECT_EQ(resolve_pads_1d(Padding::Explicit, 5, 3, 1, 1, 2, 1), (P{2, 1}));
  EXPECT_EQ(window_output_size(6, 3, 2, 1, 0, 1), 3);
  EXPECT_EQ(window_output_size(7, 3, 2, 1, 1, 1), 4);
  EXPECT_EQ(window_output_size(5, 3, 1, 2, 0, 0), 1);
  expect_contains(error_of<ShapeError>([] { window_output_size(4, 3, 1, 2, 0, 0); }),
                  "window of extent 5 (kernel 3, dilation 2) does not fit the padded size 4");

  Conv2D op({.filters = 1, .kernel = {3, 3}, .stride = {2, 2}, .padding = Padding::Same});
  std::vector<TensorSpec> in{{Shape{2, 1, 6, 7}}};
  EXPECT_EQ(op.infer(in)[0].shape, (Shape{2, 1, 3, 4}));
  EXPECT_EQ(op.resolved_pads(6, 7), (Pads{0, 1, 1, 1}));
}

TEST(Conv2DTest, ValidConvolutionByHand) {
  Conv2D op({.filters = 1, .kernel = {2, 2}});
  Tensor x = iota({1, 1, 3, 3});  // [1 2 3; 4 5 6; 7 8 9]
  Tensor w = tensor_of({1, 1, 2, 2}, {1, 2, 3, 4});
  Tensor b = tensor_of({1}, {0.5f});
  auto y = testing::run_forward(op, {x}, {w, b});
  EXPECT_EQ(y[0].shape(), (Shape{1, 1, 2, 2}));
  EXPECT_EQ(values(y[0]), (std::vector<float>{37.5f, 47.5f, 67.5f, 77.5f}));
}

TEST(Conv2DTest, SamePaddingNeighbourhoodSums) {
  Conv2D op({.filters = 1, .kernel = {3, 3}, .padding = Padding::Same, .bias = false});
  auto y = testing::run_forward(op, {iota({1, 1, 3, 3})}, {Tensor::full({1, 1, 3, 3}, 1.0f)});
  EXPECT_EQ(values(y[0]), (std::vector<float>{12, 21, 16, 27, 45, 33, 24, 39, 28}));
}

TEST(Conv2DTest, SameStride2OnEvenInputPadsBottomRight) {
  Conv2D op(
      {.filters = 1, .kernel = {3, 3}, .stride = {2, 2}, .padding = Padding::Same, .bias = false});
  auto y = testing::run_forward(op, {iota({1, 1, 4, 4})}, {Tensor::full({1, 1, 3, 3}, 1.0f)});
  // Pads (top, left, bottom, right) = (0, 0, 1, 1): windows rows/cols {0..2} and {2..3}.
  EXPECT_EQ(values(y[0]), (std::vector<float>{54, 45, 72, 54}));
}

TEST(Conv2DTest, DilationSkipsPixels) {
  Conv2D op({.filters = 1, .kernel = {3, 3}, .dilation = {2, 2}, .bias = false});
  auto y = testing::run_forward(op, {iota({1, 1, 5, 5}, 0.0f)}, {Tensor::full({1, 1, 3, 3}, 1.0f)});
  ASSERT_EQ(y[0].shape(), (Shape{1, 1, 1, 1}));
  EXPECT_EQ(y[0].data<float>()[0], 0 + 2 + 4 + 10 + 12 + 14 + 20 + 22 + 24);
}

TEST(Conv2DTest, GroupsKeepChannelsApart) {
  // groups = 2, F = 4: filters 0,1 see channel 0 only, filters 2,3 see channel 1 only.
  Conv2D op({.filters = 4, .kernel = {1, 1}, .groups = 2, .bias = false});
  Tensor x = tensor_of({1, 2, 1, 2}, {1, 2, 10, 20});
  auto y = testing::run_forward(op, {x}, {tensor_of({4, 1, 1, 1}, {2, -1, 3, 0.5f})});
  EXPECT_EQ(values(y[0]), (std::vector<float>{2, 4, -1, -2, 30, 60, 5, 10}));
}

TEST(Conv2DTest, FusedReluClampsNegatives) {
  Conv2D op({.filters = 1, .kernel = {2, 2}, .activation = FusedActivation::ReLU});
  auto y = testing::run_forward(op, {iota({1, 1, 3, 3})},
                                {tensor_of({1, 1, 2, 2}, {1, 2, 3, 4}), tensor_of({1}, {-50})});
  EXPECT_EQ(values(y[0]), (std::vector<float>{0, 0, 17, 27}));
}

TEST(Conv2DTest, MatchesNaiveOracleOnGroupedStridedDilated) {
  const Conv2DAttrs cases[] = {
      {.filters = 6,
       .kernel = {3, 2},
       .stride = {2, 1},
       .dilation = {1, 2},
       .padding = Padding::Same,
       .groups = 2},
      {.filters = 4,
       .kernel = {3, 3},
       .stride = {2, 3},
       .padding = Padding::Explicit,
       .pads = {1, 0, 2, 1}},
      {.filters = 4, .kernel = {2, 3}, .dilation = {2, 1}, .groups = 4, .bias = false},
  };
  for (const auto& a : cases) {
    Conv2D op(a);
    Tensor x = random_normal({2, 4, 7, 6}, 11);
    auto params = testing::make_params(op, {x});
    auto y = testing::run_forward(op, {x}, params);
    Tensor expected = naive_conv(op, x, params[0], a.bias ? &params[1] : nullptr);
    ASSERT_EQ(y[0].shape(), expected.shape()) << op.attrs().str();
    EXPECT_LT(max_abs_diff(y[0], expected), 1e-5f) << op.attrs().str();
  }
}

// Forward and all three gradients for one thread count.
std::vector<Tensor> forward_backward(const Conv2D& op, const Tensor& x,
                                     const std::vector<Tensor>& params, int threads) {
  omp_set_num_threads(threads);
  auto y = testing::run_forward(op, {x}, params);
  std::vector<Tensor> in{x}, dy{random_normal(y[0].shape(), 99)};
  std::vector<Tensor> gx{Tensor::full(x.shape(), NAN)}, gp;
  for (const auto& p : params) gp.push_back(Tensor::full(p.shape(), NAN));
  op.backward({.inputs = in,
               .outputs = y,
               .params = params,
               .saved = {},
               .grad_outputs = dy,
               .grad_inputs = gx,
               .grad_params = gp,
               .scratch = {}});
  omp_set_num_threads(omp_get_num_procs());
  return {y[0], gx[0], gp[0], gp[1]};
}

TEST(Conv2DTest, LargeCaseIsThreadCountInvariantAndMatchesOracle) {
  Conv2D op({.filters = 16,
             .kernel = {3, 3},
             .stride = {1, 2},
             .padding = Padding::Same,
             .groups = 2,
             .activation = FusedActivation::ReLU});
  Tensor x = random_normal({2, 8, 20, 19}, 12);
  auto params = testing::make_params(op, {x});
  auto one = forward_backward(op, x, params, 1);
  auto three = forward_backward(op, x, params, 3);
  for (std::size_t i = 0; i < one.size(); ++i)
    EXPECT_EQ(max_abs_diff(one[i], three[i]), 0.0f) << "tensor " << i;
  Conv2D linear(
      {.filters = 16, .kernel = {3, 3}, .stride = {1, 2}, .padding = Padding::Same, .groups = 2});
  Tensor expected = naive_conv(linear, x, params[0], &params[1]);
  for (std::int64_t i = 0; i < expected.numel(); ++i)
    expected.data<float>()[i] = std::max(expected.data<float>()[i], 0.0f);
  EXPECT_LT(max_abs_diff(one[0], expected), 1e-5f);
}

TEST(Conv2DTest, GradientsBatch1NonSquareStride2Same) {
  Conv2D op({.filters = 4, .kernel = {3, 3}, .stride = {2, 2}, .padding = Padding::Same});
  testing::expect_gradients_match(op, {random_normal({1, 3, 5, 8}, 1)},
                                  {random_normal({4, 3, 3, 3}, 2), random_normal({4}, 3)});
}

TEST(Conv2DTest, GradientsDilatedGroupedExplicitPads) {
  Conv2D op({.filters = 6,
             .kernel = {3, 2},
             .stride = {1, 2},
             .dilation = {2, 2},
             .padding = Padding::Explicit,
             .pads = {2, 1, 1, 0},
             .groups = 2});
  testing::expect_gradients_match(op, {random_normal({2, 4, 6, 7}, 4)},
                                  {random_normal({6, 2, 3, 2}, 5), random_normal({6}, 6)});
}

TEST(Conv2DTest, GradientsWithoutBias) {
  Conv2D op({.filters = 3, .kernel = {2, 3}, .padding = Padding::Same, .bias = false});
  testing::expect_gradients_match(op, {random_normal({2, 2, 4, 5}, 7)},
                                  {random_normal({3, 2, 2, 3}, 8)});
}

TEST(Conv2DTest, GradientsFusedRelu) {
  Conv2D op({.filters = 4,
             .kernel = {3, 3},
             .stride = {2, 1},
             .padding = Padding::Same,
             .groups = 2,
             .activation = FusedActivation::ReLU});
  EXPECT_TRUE(op.backward_needs().outputs);
  Tensor x = half_grid({2, 4, 5, 4}, 9);
  Tensor b = tensor_of({4}, {0.125f, -0.125f, 0.375f, -0.375f});
  auto y = testing::run_forward(op, {x}, {half_grid({4, 2, 3, 3}, 10), b});
  int zeros = 0;
  for (float v : values(y[0])) zeros += v == 0.0f;
  EXPECT_GT(zeros, 0);  // the mask is exercised
  EXPECT_LT(zeros, y[0].numel());
  testing::expect_gradients_match(op, {x}, {half_grid({4, 2, 3, 3}, 10), b});
}

TEST(Conv2DTest, GradientsFusedTanhAndSigmoid) {
  for (FusedActivation act : {FusedActivation::Tanh, FusedActivation::Sigmoid}) {
    Conv2D op({.filters = 3,
               .kernel = {3, 3},
               .stride = {2, 1},
               .padding = Padding::Same,
               .activation = act});
    EXPECT_TRUE(op.backward_needs().outputs);
    testing::expect_gradients_match(op, {random_normal({2, 2, 5, 4}, 21)},
                                    {random_normal({3, 2, 3, 3}, 22), random_normal({3}, 23)});
  }
}

TEST(Conv2DTest, ParamsFollowPyTorchDefaults) {
  Conv2D op({.filters = 8, .kernel = {3, 5}, .groups = 2});
  std::vector<TensorSpec> in{{Shape{2, 6, 9, 9}}};
  auto p = op.params(in);
  ASSERT_EQ(p.size(), 2u);
  EXPECT_EQ(p[0].name, "weight");
  EXPECT_EQ(p[0].shape, (Shape{8, 3, 3, 5}));
  EXPECT_EQ(p[0].init.kind, InitKind::TorchUniform);
  EXPECT_EQ(p[0].fan_in, 3 * 15);
  EXPECT_EQ(p[0].fan_out, 4 * 15);
  EXPECT_TRUE(p[0].decay);
  EXPECT_EQ(p[1].name, "bias");
  EXPECT_EQ(p[1].shape, (Shape{8}));
  EXPECT_EQ(p[1].fan_in, 45);
  EXPECT_FALSE(p[1].decay);
  EXPECT_EQ(op.flops(in), 2.0 * 2 * 8 * 7 * 5 * 3 * 15);
  EXPECT_FALSE(op.backward_needs().outputs);
  Conv2D no_bias({.filters = 8, .bias = false});
  EXPECT_EQ(no_bias.params(in).size(), 1u);
}

TEST(Conv2DTest, ShapeErrorsStateExpectedAndGot) {
  Conv2D grouped({.filters = 4, .groups = 2});
  std::vector<TensorSpec> odd{{Shape{1, 3, 8, 8}}};
  expect_contains(error_of<ShapeError>([&] { grouped.infer(odd); }),
                  "groups=2 needs input channels divisible by 2, got C=3 (input [1, 3, 8, 8])");
  Conv2D big({.filters = 4, .kernel = {5, 5}});
  std::vector<TensorSpec> small{{Shape{1, 1, 4, 6}}};
  expect_contains(error_of<ShapeError>([&] { big.infer(small); }),
                  "Conv2D on input [1, 1, 4, 6]: height window of extent 5 (kernel 5, dilation 1) "
                  "does not fit the padded size 4");
  Conv2D same({.filters = 4, .kernel = {5, 5}, .padding = Padding::Same});
  EXPECT_EQ(same.infer(small)[0].shape, (Shape{1, 4, 4, 6}));
  std::vector<TensorSpec> flat{{Shape{1, 3, 4}}};
  expect_contains(error_of<ShapeError>([&] { big.infer(flat); }),
                  "expects a 4-D input [N, C, H, W], got [1, 3, 4]");
}

TEST(Conv2DTest, BadAttributesNameAttributeAndValue) {
  using V = std::vector<std::int64_t>;
  expect_contains(error_of<Error>([] { Conv2D({.filters = 0}); }), "'filters' must be > 0, got 0");
  expect_contains(error_of<Error>([] { Conv2D({.filters = 6, .groups = 4}); }),
                  "'groups' (4) must divide filters (6)");
  expect_contains(error_of<Error>([] {
                    make_op("Conv2D", {{"filters", std::int64_t{8}}, {"kernel", V{0, 3}}});
                  }),
                  "'kernel' must be >= 1, got [0, 3]");
  expect_contains(error_of<Error>([] {
                    make_op("Conv2D", {{"filters", std::int64_t{8}}, {"stride", std::int64_t{0}}});
                  }),
                  "'stride' must be >= 1, got [0, 0]");
  expect_contains(error_of<Error>([] {
                    make_op("Conv2D", {{"filters", std::int64_t{8}}, {"kernel", V{1, 2, 3}}});
                  }),
                  "'kernel' must be an integer or a list of 2 integers, got [1, 2, 3]");
  expect_contains(error_of<Error>([] {
                    make_op("Conv2D", {{"filters", std::int64_t{8}}, {"pads", V{1, 1}}});
                  }),
                  "'pads' must list 4 values");
  expect_contains(
      error_of<Error>([] {
        make_op("Conv2D", {{"filters", std::int64_t{8}}, {"padding", std::string("full")}});
      }),
      "unknown padding 'full'");
}

TEST(Conv2DTest, AttrsRebuildTheSameOp) {
  Conv2D op({.filters = 6,
             .kernel = {3, 2},
             .stride = {2, 1},
             .dilation = {1, 2},
             .padding = Padding::Explicit,
             .pads = {1, 0, 2, 1},
             .groups = 3,
             .bias = false,
             .activation = FusedActivation::ReLU});
  auto rebuilt = make_op("Conv2D", op.attrs());
  auto* conv = dynamic_cast<const Conv2D*>(rebuilt.get());
  ASSERT_NE(conv, nullptr);
  const auto& a = conv->conv_attrs();
  EXPECT_EQ(a.filters, 6);
  EXPECT_EQ(a.kernel, (std::array<std::int64_t, 2>{3, 2}));
  EXPECT_EQ(a.stride, (std::array<std::int64_t, 2>{2, 1}));
  EXPECT_EQ(a.dilation, (std::array<std::int64_t, 2>{1, 2}));
  EXPECT_EQ(a.padding, Padding::Explicit);
  EXPECT_EQ(a.pads, (Pads{1, 0, 2, 1}));
  EXPECT_EQ(a.groups, 3);
  EXPECT_FALSE(a.bias);
  EXPECT_EQ(a.activation, FusedActivation::ReLU);
  EXPECT_EQ(rebuilt->attrs().str(), op.attrs().str());
  // A single integer kernel means square.
  auto square = make_op("Conv2D", {{"filters", std::int64_t{16}},
                                   {"kernel", std::int64_t{5}},
                                   {"padding", std::string("same")}});
  EXPECT_EQ(dynamic_cast<const Conv2D&>(*square).conv_attrs().kernel,
            (std::array<std::int64_t, 2>{5, 5}));
  EXPECT_EQ(dynamic_cast<const Conv2D&>(*square).conv_attrs().padding, Padding::Same);
}

}  // namespace
}  // namespace convkit::ops
