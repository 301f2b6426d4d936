// The MaxPool2D / AvgPool2D kernels against the reference kernel: oneDNN on every case (windows,
// strides, same/explicit/asymmetric padding, average with and without padded cells counted,
// Train with oneDNN's workspace in saved(), and Infer), and the average-pooling window kernel on
// the cases it takes (stride = kernel, no padding, including odd sizes with uncovered cells).
#include "backend/cpu/kernels.h"
#include "ops/pool2d.h"
#include "support/gradcheck.h"
#include "support/kernel_check.h"
#include "support/timing.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <vector>

namespace convkit::backend::cpu {
namespace {

using ops::Mode;
using ops::Padding;
using ops::Pool2D;
using ops::Pool2DAttrs;
using ops::PoolKind;
using testing::expect_kernel_matches_reference;

struct PoolCase {
  const char* name;
  PoolKind kind;
  Pool2DAttrs attrs;
  Shape x;  // [N, C, H, W]
};

void PrintTo(const PoolCase& c, std::ostream* os) {
  *os << c.name << " x " << c.x.str();
}

const PoolCase kCases[] = {
    {"max_2x2", PoolKind::Max, {}, {2, 3, 8, 8}},
    {"max_batch1_odd", PoolKind::Max, {}, {1, 4, 9, 7}},
    {"max_3x3_stride2", PoolKind::Max, {.kernel = {3, 3}, .stride = {2, 2}}, {2, 3, 11, 11}},
    {"max_overlapping_stride1", PoolKind::Max, {.kernel = {3, 3}, .stride = {1, 1}}, {2, 2, 6, 7}},
    {"max_non_square", PoolKind::Max, {.kernel = {3, 2}, .stride = {2, 1}}, {2, 3, 9, 8}},
    {"max_same",
     PoolKind::Max,
     {.kernel = {3, 3}, .stride = {2, 2}, .padding = Padding::Same},
     {2, 3, 10, 9}},
    {"max_explicit_asymmetric",
     PoolKind::Max,
     {.kernel = {3, 3}, .stride = {2, 2}, .padding = Padding::Explicit, .pads = {1, 0, 2, 1}},
     {2, 3, 8, 8}},
    {"max_mnist", PoolKind::Max, {}, {8, 64, 24, 24}},
    {"avg_2x2", PoolKind::Avg, {}, {2, 3, 8, 8}},
    {"avg_3x3_stride2", PoolKind::Avg, {.kernel = {3, 3}, .stride = {2, 2}}, {2, 3, 11, 10}},
    {"avg_same_exclude_pad",
     PoolKind::Avg,
     {.kernel = {3, 3}, .stride = {1, 1}, .padding = Padding::Same},
     {2, 3, 7, 8}},
    {"avg_same_include_pad",
     PoolKind::Avg,
     {.kernel = {3, 3}, .stride = {1, 1}, .padding = Padding::Same, .count_include_pad = true},
     {2, 3, 7, 8}},
    {"avg_explicit_asymmetric_exclude",
     PoolKind::Avg,
     {.kernel = {3, 3}, .stride = {2, 2}, .padding = Padding::Explicit, .pads = {1, 2, 2, 0}},
     {2, 3, 9, 9}},
    {"avg_explicit_asymmetric_include",
     PoolKind::Avg,
     {.kernel = {3, 3},
      .stride = {2, 2},
      .padding = Padding::Explicit,
      .pads = {1, 2, 2, 0},
      .count_include_pad = true},
     {2, 3, 9, 9}},
    {"avg_whole_plane", PoolKind::Avg, {.kernel = {5, 6}}, {3, 4, 5, 6}},
    {"max_3x3_odd", PoolKind::Max, {.kernel = {3, 3}}, {2, 3, 10, 11}},
    {"avg_2x3_odd", PoolKind::Avg, {.kernel = {2, 3}}, {2, 3, 9, 10}},
    {"avg_mnist_lenet", PoolKind::Avg, {}, {4, 6, 28, 28}},
    {"avg_wide_row", PoolKind::Avg, {}, {2, 2, 4, 67}},
};

// Average pooling over non-overlapping windows without padding: the window kernel takes it.
bool window_case(const PoolCase& c) {
  return c.kind == PoolKind::Avg && c.attrs.padding != Padding::Same &&
         c.attrs.padding != Padding::Explicit &&
         (c.attrs.stride[0] == 0 || c.attrs.stride[0] == c.attrs.kernel[0]) &&
         (c.attrs.stride[1] == 0 || c.attrs.stride[1] == c.attrs.kernel[1]);
}

class Pool2DKernelTest : public ::testing::TestWithParam<PoolCase> {};

TEST_P(Pool2DKernelTest, OneDnnTrainMatchesReference) {
  Pool2D op(GetParam().kind, GetParam().attrs);
  expect_kernel_matches_reference(op, {GetParam().x},
                                  {.mode = Mode::Train, .factory = make_pool2d_onednn_kernel});
}

TEST_P(Pool2DKernelTest, OneDnnInferMatchesReference) {
  Pool2D op(GetParam().kind, GetParam().attrs);
  expect_kernel_matches_reference(op, {GetParam().x},
                                  {.mode = Mode::Infer, .factory = make_pool2d_onednn_kernel});
}

TEST_P(Pool2DKernelTest, WindowKernelMatchesReferenceWhereItApplies) {
  const PoolCase& c = GetParam();
  Pool2D op(c.kind, c.attrs);
  auto request = testing::make_request(op, {c.x}, {});
  if (!window_case(c)) {
    EXPECT_EQ(make_pool2d_window_kernel(request), nullptr) << c.name;
    return;
  }
  for (Mode mode : {Mode::Train, Mode::Infer})
    expect_kernel_matches_reference(
        op, {c.x}, {.mode = mode, .tolerance = 1e-6f, .factory = make_pool2d_window_kernel});
}

INSTANTIATE_TEST_SUITE_P(Configs, Pool2DKernelTest, ::testing::ValuesIn(kCases),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(Pool2DKernel, TheBackendPicksTheWindowKernelElseOneDnn) {
  for (const PoolCase& c : kCases)
    for (Mode mode : {Mode::Train, Mode::Infer}) {
      Pool2D op(c.kind, c.attrs);
      auto kernel = testing::make_cpu_kernel(testing::make_request(op, {c.x}, {.mode = mode}));
      ASSERT_NE(kernel, nullptr) << c.name;
      EXPECT_EQ(kernel->name(), window_case(c) ? "simd" : "onednn") << c.name;
    }
}

// A fused activation (moved into max pooling by the fusion pass): oneDNN's post-op forward and
// the activation's backward from y, in both modes, against the reference.
TEST(Pool2DKernel, OneDnnMaxWithFusedActivationMatchesReference) {
  for (auto act : {ops::FusedActivation::ReLU, ops::FusedActivation::Tanh,
                   ops::FusedActivation::Sigmoid, ops::FusedActivation::ReLU6})
    for (const Shape& x : {Shape{2, 3, 8, 8}, Shape{4, 32, 12, 12}})
      for (Mode mode : {Mode::Train, Mode::Infer}) {
        Pool2D op(
            PoolKind::Max,
            {.kernel = {3, 3}, .stride = {2, 2}, .padding = Padding::Same, .activation = act});
        SCOPED_TRACE(std::string(ops::name_of(act)) + " " + x.str());
        expect_kernel_matches_reference(op, {x},
                                        {.mode = mode, .factory = make_pool2d_onednn_kernel});
      }
}

TEST(Pool2DKernel, OneDnnMaxPoolKeepsItsWorkspaceOnlyForBackward) {
  Pool2D op(PoolKind::Max, {});
  auto train = make_pool2d_onednn_kernel(testing::make_request(op, {{2, 3, 8, 8}}, {}));
  auto infer =
      make_pool2d_onednn_kernel(testing::make_request(op, {{2, 3, 8, 8}}, {.mode = Mode::Infer}));
  ASSERT_TRUE(train && infer);
  ASSERT_EQ(train->saved().size(), 1u);
  EXPECT_EQ(train->saved()[0].dtype, DType::u8);
  EXPECT_GT(train->saved()[0].shape.numel(), 0);
  EXPECT_TRUE(infer->saved().empty());
  Pool2D avg(PoolKind::Avg, {});
  EXPECT_TRUE(
      make_pool2d_onednn_kernel(testing::make_request(avg, {{2, 3, 8, 8}}, {}))->saved().empty());
}

}  // namespace
}  // namespace convkit::backend::cpu

namespace convkit::backend::cpu {
namespace {

// Forward and backward time of the average-pooling window kernel vs oneDNN on LeNet's layers (best
// of 30 calls each, Train mode). Not a regular test (timings are noisy); run with
// --gtest_also_run_disabled_tests --gtest_filter='*WindowTiming*'.
TEST(Pool2DKernel, DISABLED_WindowTiming) {
  const struct {
    PoolKind kind;
    Shape x;
  } layers[] = {{PoolKind::Avg, {1, 6, 28, 28}},
                {PoolKind::Avg, {1, 16, 10, 10}},
                {PoolKind::Avg, {128, 6, 28, 28}},
                {PoolKind::Avg, {128, 16, 10, 10}}};
  for (const auto& l : layers) {
    Pool2D op(l.kind, {});
    for (testing::KernelFactory make : {make_pool2d_onednn_kernel, make_pool2d_window_kernel}) {
      auto request = testing::make_request(op, {l.x}, {});
      auto kernel = make(request);
      ASSERT_NE(kernel, nullptr);
      Tensor x = testing::random_normal(l.x, 1);
      Tensor y = Tensor::zeros(request.outputs[0].shape), dy = testing::random_normal(y.shape(), 2);
      Tensor dx = Tensor::zeros(l.x);
      std::vector<Tensor> saved;
      for (const auto& s : kernel->saved()) saved.push_back(Tensor::zeros(s.shape, s.dtype));
      std::vector<std::byte> scratch(kernel->scratch_bytes());
      auto fwd = [&] {
        kernel->forward({.inputs = std::span(&x, 1),
                         .outputs = std::span(&y, 1),
                         .saved = saved,
                         .scratch = scratch,
                         .mode = Mode::Train});
      };
      auto bwd = [&] {
        kernel->backward({.inputs = std::span(&x, 1),
                          .outputs = std::span(&y, 1),
                          .saved = saved,
                          .grad_outputs = std::span(&dy, 1),
                          .grad_inputs = std::span(&dx, 1),
                          .scratch = scratch});
      };
      fwd(), bwd();
      const double f_ms = testing::best_ms(30, fwd), b_ms = testing::best_ms(30, bwd);
      std::printf("%s %-16s %-7s forward %.4f ms  backward %.4f ms\n",
                  l.kind == PoolKind::Max ? "max" : "avg", l.x.str().c_str(),
                  std::string(kernel->name()).c_str(), f_ms, b_ms);
    }
  }
}

}  // namespace
}  // namespace convkit::backend::cpu
