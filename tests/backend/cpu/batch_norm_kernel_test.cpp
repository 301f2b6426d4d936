// Both CPU BatchNorm kernels (oneDNN's, and the SIMD plain-layout kernel the backend uses) against
// the reference kernel: 2-D and 4-D inputs, Train (batch statistics, running statistics updated
// with momentum and unbiased variance) and Infer (running statistics), fused ReLU, frozen layers.
#include "backend/cpu/kernels.h"
#include "ops/batch_norm.h"
#include "support/kernel_check.h"

#include <gtest/gtest.h>

namespace convkit::backend::cpu {
namespace {

using ops::BatchNorm;
using ops::BatchNormAttrs;
using ops::FusedActivation;
using ops::Mode;
using testing::expect_kernel_matches_reference;

struct BnCase {
  const char* name;
  BatchNormAttrs attrs;
  Shape x;
};

void PrintTo(const BnCase& c, std::ostream* os) {
  *os << c.name << " x " << c.x.str();
}

const BnCase kCases[] = {
    {"nchw", {}, {4, 3, 5, 6}},
    {"nchw_batch1", {}, {1, 5, 4, 4}},
    {"nchw_16_channels", {.momentum = 0.3, .epsilon = 1e-3}, {8, 16, 7, 7}},
    {"nchw_odd_channels", {}, {3, 19, 5, 5}},
    {"nc", {}, {16, 10}},
    {"nc_two_rows", {.momentum = 1.0}, {2, 33}},
    {"nchw_fused_relu", {.activation = FusedActivation::ReLU}, {4, 8, 6, 6}},
    {"nc_fused_relu", {.momentum = 0.0, .activation = FusedActivation::ReLU}, {16, 24}},
    {"cifar", {.activation = FusedActivation::ReLU}, {16, 32, 16, 16}},
};

class BatchNormKernelTest : public ::testing::TestWithParam<BnCase> {};

// Runs the check for the oneDNN kernel and the SIMD kernel.
void expect_both_match(const BatchNorm& op, const Shape& x, testing::KernelCheckOptions o) {
  for (auto factory : {&make_batch_norm_kernel, &make_batch_norm_simd_kernel}) {
    SCOPED_TRACE(factory == &make_batch_norm_kernel ? "onednn" : "simd");
    o.factory = factory;
    expect_kernel_matches_reference(op, {x}, o);
  }
}

TEST_P(BatchNormKernelTest, TrainMatchesReference) {
  BatchNorm op(GetParam().attrs);
  expect_both_match(op, GetParam().x, {.mode = Mode::Train});
}

TEST_P(BatchNormKernelTest, TrainForwardOnlyMatchesReference) {
  BatchNorm op(GetParam().attrs);
  expect_both_match(op, GetParam().x, {.mode = Mode::Train, .backward = false});
}

TEST_P(BatchNormKernelTest, InferMatchesReference) {
  BatchNorm op(GetParam().attrs);
  expect_both_match(op, GetParam().x, {.mode = Mode::Infer});
}

TEST_P(BatchNormKernelTest, FrozenLayerMatchesReference) {
  BatchNorm op(GetParam().attrs);
  expect_both_match(op, GetParam().x, {.param_grads = false});
}

TEST_P(BatchNormKernelTest, ParamGradsOnlyMatchReference) {
  BatchNorm op(GetParam().attrs);
  expect_both_match(op, GetParam().x, {.input_grads = {false}});
}

INSTANTIATE_TEST_SUITE_P(Configs, BatchNormKernelTest, ::testing::ValuesIn(kCases),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(BatchNormKernel, CommonConfigurationsUseAFastKernel) {
  for (const BnCase& c : kCases)
    for (Mode mode : {Mode::Train, Mode::Infer}) {
      BatchNorm op(c.attrs);
      auto request = testing::make_request(op, {c.x}, {.mode = mode});
      auto kernel = testing::make_cpu_kernel(request);
      ASSERT_NE(kernel, nullptr) << c.name;
      EXPECT_EQ(kernel->name(), "simd") << c.name;  // the backend's choice for plain layouts
      auto onednn = make_batch_norm_kernel(request);
      ASSERT_NE(onednn, nullptr) << c.name;
      EXPECT_EQ(onednn->name(), "onednn") << c.name;
    }
}

TEST(BatchNormKernel, SavesStatisticsAndReluWorkspaceOnlyForBackward) {
  BatchNorm plain({}), relu({.activation = FusedActivation::ReLU});
  const Shape x{4, 8, 5, 5};
  auto saved = [&](const BatchNorm& op, testing::KernelCheckOptions o) {
    auto kernel = make_batch_norm_kernel(testing::make_request(op, {x}, o));
    EXPECT_NE(kernel, nullptr);
    return kernel ? kernel->saved() : std::vector<TensorSpec>{};
  };
  const auto train = saved(plain, {});
  ASSERT_EQ(train.size(), 2u);  // batch mean and variance
  EXPECT_EQ(train[0].shape, Shape{8});
  EXPECT_EQ(train[1].shape, Shape{8});
  const auto train_relu = saved(relu, {});
  ASSERT_EQ(train_relu.size(), 3u);  // + the ReLU mask workspace
  EXPECT_EQ(train_relu[2].dtype, DType::u8);
  EXPECT_TRUE(saved(relu, {.backward = false}).empty());
  EXPECT_TRUE(saved(relu, {.mode = Mode::Infer}).empty());
}

TEST(BatchNormKernel, OneValuePerChannelInTrainingFallsBackToTheReference) {
  // The unbiased variance of one value is undefined; the reference reports it as an error.
  BatchNorm op({});
  for (auto factory : {&make_batch_norm_kernel, &make_batch_norm_simd_kernel}) {
    EXPECT_EQ(factory(testing::make_request(op, {{1, 8}}, {})), nullptr);
    EXPECT_NE(factory(testing::make_request(op, {{1, 8}}, {.mode = Mode::Infer})), nullptr);
  }
}

}  // namespace
}  // namespace convkit::backend::cpu
