// The oneDNN Conv2D kernel against the reference kernel: forward (Train/Infer), backward data,
// backward weights+bias, over strides, paddings, dilation, groups, bias, fused ReLU, frozen
// layers and both activation layouts; plus a layout timing run (disabled by default).
#include "backend/cpu/kernels.h"
#include "ops/conv2d.h"
#include "support/gradcheck.h"
#include "support/kernel_check.h"
#include "support/timing.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <cstring>

namespace convkit::backend::cpu {
namespace {

using ops::Conv2D;
using ops::Conv2DAttrs;
using ops::FusedActivation;
using ops::Mode;
using ops::Padding;
using testing::expect_kernel_matches_reference;
using testing::KernelCheckOptions;

struct ConvCase {
  const char* name;
  Conv2DAttrs attrs;
  Shape x;  // [N, C, H, W]
};

void PrintTo(const ConvCase& c, std::ostream* os) {
  *os << c.name << " x " << c.x.str();
}

std::unique_ptr<Kernel> make_blocked(const KernelRequest& r) {
  return make_conv2d_kernel(r, {.layout = ConvLayout::Blocked});
}

std::unique_ptr<Kernel> make_blocked_direct(const KernelRequest& r) {
  return make_conv2d_kernel(r, {.layout = ConvLayout::Blocked, .winograd = false});
}

std::unique_ptr<Kernel> make_plain(const KernelRequest& r) {
  return make_conv2d_kernel(r, {.layout = ConvLayout::Plain});
}

const ConvCase kCases[] = {
    {"basic", {.filters = 4}, {2, 3, 8, 8}},
    {"batch1", {.filters = 5}, {1, 3, 9, 9}},
    {"non_square", {.filters = 4, .kernel = {3, 2}}, {2, 3, 7, 10}},
    {"stride2", {.filters = 6, .stride = {2, 2}}, {2, 4, 11, 11}},
    {"stride_2x1", {.filters = 3, .stride = {2, 1}}, {2, 2, 9, 8}},
    {"same", {.filters = 4, .padding = Padding::Same}, {2, 3, 8, 8}},
    {"same_stride2",
     {.filters = 4, .kernel = {4, 4}, .stride = {2, 2}, .padding = Padding::Same},
     {2, 3, 9, 10}},
    {"explicit_asymmetric",
     {.filters = 4, .padding = Padding::Explicit, .pads = {1, 0, 2, 1}},
     {2, 3, 8, 7}},
    {"dilation2", {.filters = 4, .dilation = {2, 2}, .padding = Padding::Same}, {2, 3, 10, 10}},
    {"dilation_2x1", {.filters = 4, .dilation = {2, 1}}, {2, 3, 10, 9}},
    {"groups2", {.filters = 6, .groups = 2}, {2, 4, 8, 8}},
    {"depthwise", {.filters = 8, .padding = Padding::Same, .groups = 8}, {2, 8, 9, 9}},
    {"depthwise_multiplier2", {.filters = 8, .groups = 4}, {2, 4, 8, 8}},
    {"no_bias", {.filters = 4, .bias = false}, {2, 3, 8, 8}},
    {"fused_relu",
     {.filters = 8, .padding = Padding::Same, .activation = FusedActivation::ReLU},
     {2, 3, 8, 8}},
    {"fused_relu_no_bias_stride2",
     {.filters = 8, .stride = {2, 2}, .bias = false, .activation = FusedActivation::ReLU},
     {2, 5, 9, 9}},
    {"pointwise", {.filters = 16, .kernel = {1, 1}}, {2, 16, 6, 6}},
    {"wide_channels",
     {.filters = 24, .padding = Padding::Same, .activation = FusedActivation::ReLU},
     {2, 20, 6, 6}},
    {"fused_tanh_lenet1",
     {.filters = 6,
      .kernel = {5, 5},
      .padding = Padding::Same,
      .activation = FusedActivation::Tanh},
     {2, 1, 28, 28}},
    {"fused_sigmoid_no_bias",
     {.filters = 8, .bias = false, .activation = FusedActivation::Sigmoid},
     {2, 5, 9, 9}},
    {"mnist_conv1", {.filters = 32, .activation = FusedActivation::ReLU}, {4, 1, 28, 28}},
    {"mnist_conv2", {.filters = 64, .activation = FusedActivation::ReLU}, {4, 32, 26, 26}},
    {"fused_relu6",
     {.filters = 8, .padding = Padding::Same, .activation = FusedActivation::ReLU6},
     {2, 3, 8, 8}},
    {"fused_relu6_mnist_conv1",
     {.filters = 32, .activation = FusedActivation::ReLU6},
     {4, 1, 28, 28}},
    {"fused_relu6_wide",
     {.filters = 32, .padding = Padding::Same, .activation = FusedActivation::ReLU6},
     {2, 32, 10, 10}},
};

class Conv2DKernelTest : public ::testing::TestWithParam<ConvCase> {};

TEST_P(Conv2DKernelTest, TrainMatchesReference) {
  const ConvCase& c = GetParam();
  Conv2D op(c.attrs);
  expect_kernel_matches_reference(op, {c.x}, {.mode = Mode::Train});
}

// The backend's choice (the direct kernel on small few-channel calls, else oneDNN), and oneDNN's
// blocked kernel on every case.
TEST_P(Conv2DKernelTest, InferMatchesReference) {
  const ConvCase& c = GetParam();
  Conv2D op(c.attrs);
  expect_kernel_matches_reference(op, {c.x}, {.mode = Mode::Infer});
  expect_kernel_matches_reference(op, {c.x}, {.mode = Mode::Infer, .factory = make_blocked});
}

// The backend's default is Blocked; the Plain (NCHW, im2col+GEMM) variant must agree too.
TEST_P(Conv2DKernelTest, PlainLayoutMatchesReference) {
  const ConvCase& c = GetParam();
  Conv2D op(c.attrs);
  expect_kernel_matches_reference(op, {c.x}, {.mode = Mode::Train, .factory = make_plain});
  expect_kernel_matches_reference(op, {c.x}, {.mode = Mode::Infer, .factory = make_plain});
}

INSTANTIATE_TEST_SUITE_P(Configs, Conv2DKernelTest, ::testing::ValuesIn(kCases),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(Conv2DKernel, FrozenLayerComputesOnlyInputGrads) {
  Conv2D op({.filters = 4, .padding = Padding::Same, .activation = FusedActivation::ReLU});
  expect_kernel_matches_reference(op, {{2, 3, 8, 8}}, {.param_grads = false});
}

TEST(Conv2DKernel, FirstLayerComputesOnlyParamGrads) {
  Conv2D op({.filters = 4, .padding = Padding::Same});
  expect_kernel_matches_reference(op, {{2, 3, 8, 8}}, {.input_grads = {false}});
}

TEST(Conv2DKernel, FrozenLayerNeedsLessScratchThanTrainable) {
  Conv2D op({.filters = 16, .padding = Padding::Same});
  auto trainable = testing::make_request(op, {{8, 16, 12, 12}}, {.factory = make_blocked});
  auto frozen = testing::make_request(op, {{8, 16, 12, 12}}, {.param_grads = false});
  auto a = make_blocked(trainable), b = make_blocked(frozen);
  ASSERT_TRUE(a && b);
  // The frozen kernel builds no backward-weights primitive, hence no reorder of diff weights.
  EXPECT_LE(b->scratch_bytes(), a->scratch_bytes());
}

TEST(Conv2DKernel, CommonConfigurationsUseOneDnnOrTheDirectKernel) {
  for (const ConvCase& c : kCases)
    for (Mode mode : {Mode::Train, Mode::Infer}) {
      Conv2D op(c.attrs);
      auto request = testing::make_request(op, {c.x}, {.mode = mode});
      auto kernel = testing::make_cpu_kernel(request);
      ASSERT_NE(kernel, nullptr) << c.name;
      const bool direct = make_conv2d_direct_kernel(request) != nullptr;
      if (direct)
        EXPECT_EQ(kernel->name(), "direct") << c.name;
      else  // Winograd where eligible and oneDNN has it for this CPU (AVX-512)
        EXPECT_TRUE(kernel->name() == "onednn" || kernel->name() == "winograd") << c.name;
      EXPECT_TRUE(kernel->saved().empty()) << c.name << ": needs nothing beyond x and y";
    }
}

// The direct kernel takes small inference calls on <= 4 channels with stride 1 and one group.
TEST(Conv2DKernel, DirectKernelTakesOnlySmallFewChannelInference) {
  auto takes = [](const Conv2DAttrs& a, const Shape& x, Mode mode) {
    Conv2D op(a);
    return make_conv2d_direct_kernel(testing::make_request(op, {x}, {.mode = mode})) != nullptr;
  };
  const Conv2DAttrs lenet1{.filters = 6,
                           .kernel = {5, 5},
                           .padding = Padding::Same,
                           .activation = FusedActivation::Tanh};
  EXPECT_TRUE(takes(lenet1, {1, 1, 28, 28}, Mode::Infer));
  EXPECT_TRUE(takes({.filters = 16, .padding = Padding::Same}, {1, 3, 32, 32}, Mode::Infer));
  EXPECT_FALSE(takes(lenet1, {1, 1, 28, 28}, Mode::Train));
  EXPECT_FALSE(takes(lenet1, {256, 1, 28, 28}, Mode::Infer));  // enough work for oneDNN
  EXPECT_FALSE(takes({.filters = 6}, {1, 5, 28, 28}, Mode::Infer));
  EXPECT_FALSE(takes({.filters = 6, .stride = {2, 2}}, {1, 1, 28, 28}, Mode::Infer));
  EXPECT_FALSE(takes({.filters = 6, .dilation = {2, 2}}, {1, 1, 28, 28}, Mode::Infer));
}

// Winograd (3x3, stride 1, >= 16 channels each side, >= 2048 output pixels) vs direct
// convolution: both match the reference in training (forward, backward data and weights) and
// inference. The backend takes Winograd where oneDNN has it for this CPU (AVX-512).
TEST(Conv2DKernel, WinogradAndDirectBothMatchTheReference) {
  const ConvCase cases[] = {
      {"relu_16_to_16", {.filters = 16, .activation = FusedActivation::ReLU}, {8, 16, 34, 34}},
      {"same_no_bias_16_to_32",
       {.filters = 32, .padding = Padding::Same, .bias = false},
       {8, 16, 32, 32}},
  };
  for (const ConvCase& c : cases) {
    Conv2D op(c.attrs);
    auto request = testing::make_request(op, {c.x}, {});
    EXPECT_EQ(make_blocked_direct(request)->name(), "onednn") << c.name;
    const std::string chosen(make_blocked(request)->name());
    EXPECT_TRUE(chosen == "winograd" || chosen == "onednn") << c.name;
    for (Mode mode : {Mode::Train, Mode::Infer}) {
      expect_kernel_matches_reference(op, {c.x}, {.mode = mode, .factory = make_blocked_direct});
      expect_kernel_matches_reference(op, {c.x}, {.mode = mode, .factory = make_blocked});
    }
  }
  // Below the pixel threshold (batch-1 inference), direct convolution.
  Conv2D op({.filters = 64});
  EXPECT_EQ(
      make_blocked(testing::make_request(op, {{1, 32, 26, 26}}, {.mode = Mode::Infer}))->name(),
      "onednn");
}

TEST(Conv2DKernel, DirectKernelRejectsTooSmallScratch) {
  Conv2D op({.filters = 6, .kernel = {5, 5}, .padding = Padding::Same});
  auto kernel =
      make_conv2d_direct_kernel(testing::make_request(op, {{1, 1, 28, 28}}, {.mode = Mode::Infer}));
  ASSERT_NE(kernel, nullptr);
  Tensor x = testing::random_normal({1, 1, 28, 28}, 1), y = Tensor::zeros({1, 6, 28, 28});
  auto params = testing::make_params(op, {x});
  std::vector<std::byte> scratch(kernel->scratch_bytes() - 1);
  EXPECT_THROW(kernel->forward({.inputs = std::span(&x, 1),
                                .outputs = std::span(&y, 1),
                                .params = params,
                                .scratch = scratch,
                                .mode = Mode::Infer}),
               Error);
}

// A layer of the timing tests below.
struct TimedLayer {
  const char* name;
  Conv2DAttrs attrs;
  Shape x;
};

// Batch-1 first layers (LeNet, mnist_cnn, CIFAR): direct kernel vs oneDNN, best of 200 calls.
// Run with --gtest_also_run_disabled_tests --gtest_filter='*DirectTiming*'.
TEST(Conv2DKernel, DISABLED_DirectTiming) {
  const TimedLayer layers[] = {
      {"lenet 1->6 5x5 same",
       {.filters = 6,
        .kernel = {5, 5},
        .padding = Padding::Same,
        .activation = FusedActivation::Tanh},
       {1, 1, 28, 28}},
      {"mnist 1->32 3x3", {.filters = 32, .activation = FusedActivation::ReLU}, {1, 1, 28, 28}},
      {"mnist 1->32 3x3 b4", {.filters = 32, .activation = FusedActivation::ReLU}, {4, 1, 28, 28}},
      {"cifar 3->16 3x3 same", {.filters = 16, .padding = Padding::Same}, {1, 3, 32, 32}},
      {"cifar 3->16 3x3 same b8", {.filters = 16, .padding = Padding::Same}, {8, 3, 32, 32}},
  };
  for (const auto& l : layers) {
    Conv2D op(l.attrs);
    auto request = testing::make_request(op, {l.x}, {.mode = Mode::Infer});
    for (testing::KernelFactory make : {make_blocked, make_conv2d_direct_kernel}) {
      auto kernel = make(request);
      if (!kernel) continue;
      Tensor x = testing::random_normal(l.x, 1);
      auto params = testing::make_params(op, {x});
      Tensor y = Tensor::zeros(request.outputs[0].shape);
      std::vector<std::byte> scratch(kernel->scratch_bytes());
      const double ms = testing::best_ms(200, [&] {
        kernel->forward({.inputs = std::span(&x, 1),
                         .outputs = std::span(&y, 1),
                         .params = params,
                         .scratch = scratch,
                         .mode = Mode::Infer});
      });
      std::printf("%-26s %-7s %8.2f us\n", l.name, std::string(kernel->name()).c_str(), 1000 * ms);
    }
  }
}

TEST(Conv2DKernel, TooSmallScratchIsAnError) {
  Conv2D op({.filters = 16, .padding = Padding::Same});
  auto request = testing::make_request(op, {{2, 16, 8, 8}}, {.mode = Mode::Infer});
  auto kernel = make_blocked(request);  // forward only: reorders in and out through scratch
  ASSERT_NE(kernel, nullptr);
  ASSERT_GT(kernel->scratch_bytes(), 0u);
  Tensor x = testing::random_normal({2, 16, 8, 8}, 1), y = Tensor::zeros({2, 16, 8, 8});
  auto params = testing::make_params(op, {x});
  std::vector<std::byte> scratch(kernel->scratch_bytes() - 1);
  EXPECT_THROW(kernel->forward({.inputs = std::span(&x, 1),
                                .outputs = std::span(&y, 1),
                                .params = params,
                                .scratch = scratch,
                                .mode = Mode::Infer}),
               Error);
}

// Times forward + backward (data and weights) per layout on the MNIST and CIFAR layer shapes.
// Run with --gtest_also_run_disabled_tests --gtest_filter='*LayoutTiming*'.
TEST(Conv2DKernel, DISABLED_LayoutTiming) {
  const TimedLayer layers[] = {
      {"mnist 1->32 3x3 28x28",
       {.filters = 32, .activation = FusedActivation::ReLU},
       {128, 1, 28, 28}},
      {"mnist 32->64 3x3 26x26",
       {.filters = 64, .activation = FusedActivation::ReLU},
       {128, 32, 26, 26}},
      {"cifar 3->16 3x3 32x32",
       {.filters = 16, .padding = Padding::Same, .activation = FusedActivation::ReLU},
       {128, 3, 32, 32}},
      {"cifar 16->16 3x3 32x32",
       {.filters = 16, .padding = Padding::Same, .activation = FusedActivation::ReLU},
       {128, 16, 32, 32}},
  };
  for (const TimedLayer& l : layers) {
    Conv2D op(l.attrs);
    for (ConvLayout layout : {ConvLayout::Plain, ConvLayout::Blocked}) {
      auto request = testing::make_request(op, {l.x}, {});
      auto kernel = make_conv2d_kernel(request, {.layout = layout});
      ASSERT_NE(kernel, nullptr);
      Tensor x = testing::random_normal(l.x, 1);
      auto params = testing::make_params(op, {x});
      Tensor y = Tensor::zeros(request.outputs[0].shape), dy = testing::random_normal(y.shape(), 2);
      Tensor dx = Tensor::zeros(l.x);
      std::vector<Tensor> dparams;
      for (const auto& p : params) dparams.push_back(Tensor::zeros(p.shape()));
      std::vector<std::byte> scratch(kernel->scratch_bytes());
      auto fwd = [&] {
        kernel->forward({.inputs = std::span(&x, 1),
                         .outputs = std::span(&y, 1),
                         .params = params,
                         .scratch = scratch,
                         .mode = Mode::Train});
      };
      auto bwd = [&] {
        kernel->backward({.inputs = std::span(&x, 1),
                          .outputs = std::span(&y, 1),
                          .params = params,
                          .grad_outputs = std::span(&dy, 1),
                          .grad_inputs = std::span(&dx, 1),
                          .grad_params = dparams,
                          .scratch = scratch});
      };
      fwd(), bwd();  // warm up
      const double f_ms = testing::best_ms(20, fwd), b_ms = testing::best_ms(20, bwd);
      std::printf(
          "%-24s %-7s forward %7.3f ms  backward %7.3f ms  total %7.3f ms  scratch %zu KiB\n",
          l.name, layout == ConvLayout::Plain ? "plain" : "blocked", f_ms, b_ms, f_ms + b_ms,
          kernel->scratch_bytes() / 1024);
    }
  }
}

}  // namespace
}  // namespace convkit::backend::cpu
