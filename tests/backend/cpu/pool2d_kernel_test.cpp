// The oneDNN MaxPool2D / AvgPool2D kernel against the reference kernel: windows, strides,
// same/explicit/asymmetric padding, average with and without padded cells counted, Train
// (max keeps oneDNN's workspace in saved()) and Infer.
#include "backend/cpu/kernels.h"
#include "ops/pool2d.h"
#include "support/kernel_check.h"

#include <gtest/gtest.h>

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
};

class Pool2DKernelTest : public ::testing::TestWithParam<PoolCase> {};

TEST_P(Pool2DKernelTest, TrainMatchesReference) {
  Pool2D op(GetParam().kind, GetParam().attrs);
  expect_kernel_matches_reference(op, {GetParam().x}, {.mode = Mode::Train});
}

TEST_P(Pool2DKernelTest, InferMatchesReference) {
  Pool2D op(GetParam().kind, GetParam().attrs);
  expect_kernel_matches_reference(op, {GetParam().x}, {.mode = Mode::Infer});
}

INSTANTIATE_TEST_SUITE_P(Configs, Pool2DKernelTest, ::testing::ValuesIn(kCases),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(Pool2DKernel, CommonConfigurationsUseOneDnn) {
  for (const PoolCase& c : kCases)
    for (Mode mode : {Mode::Train, Mode::Infer}) {
      Pool2D op(c.kind, c.attrs);
      auto kernel = testing::make_cpu_kernel(testing::make_request(op, {c.x}, {.mode = mode}));
      ASSERT_NE(kernel, nullptr) << c.name;
      EXPECT_EQ(kernel->name(), "onednn") << c.name;
    }
}

TEST(Pool2DKernel, MaxPoolKeepsItsWorkspaceOnlyForBackward) {
  Pool2D op(PoolKind::Max, {});
  auto train = testing::make_cpu_kernel(testing::make_request(op, {{2, 3, 8, 8}}, {}));
  auto infer =
      testing::make_cpu_kernel(testing::make_request(op, {{2, 3, 8, 8}}, {.mode = Mode::Infer}));
  ASSERT_TRUE(train && infer);
  ASSERT_EQ(train->saved().size(), 1u);
  EXPECT_EQ(train->saved()[0].dtype, DType::u8);
  EXPECT_GT(train->saved()[0].shape.numel(), 0);
  EXPECT_TRUE(infer->saved().empty());
  Pool2D avg(PoolKind::Avg, {});
  EXPECT_TRUE(
      testing::make_cpu_kernel(testing::make_request(avg, {{2, 3, 8, 8}}, {}))->saved().empty());
}

}  // namespace
}  // namespace convkit::backend::cpu
