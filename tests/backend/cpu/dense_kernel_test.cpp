// The oneDNN Dense (inner product) kernel against the reference kernel: forward (Train/Infer),
// backward data and weights+bias, with and without bias and fused ReLU, frozen layers.
#include "backend/cpu/kernels.h"
#include "ops/dense.h"
#include "support/kernel_check.h"

#include <gtest/gtest.h>

namespace convkit::backend::cpu {
namespace {

using ops::Dense;
using ops::DenseAttrs;
using ops::FusedActivation;
using ops::Mode;
using testing::expect_kernel_matches_reference;

struct DenseCase {
  const char* name;
  DenseAttrs attrs;
  Shape x;  // [N, K]
};

void PrintTo(const DenseCase& c, std::ostream* os) {
  *os << c.name << " x " << c.x.str();
}

const DenseCase kCases[] = {
    {"basic", {.units = 6}, {4, 10}},
    {"batch1", {.units = 7}, {1, 13}},
    {"one_unit", {.units = 1}, {5, 9}},
    {"no_bias", {.units = 6, .bias = false}, {4, 10}},
    {"fused_relu", {.units = 12, .activation = FusedActivation::ReLU}, {6, 20}},
    {"fused_relu_no_bias",
     {.units = 12, .bias = false, .activation = FusedActivation::ReLU},
     {6, 20}},
    {"mnist_hidden", {.units = 128, .activation = FusedActivation::ReLU}, {16, 784}},
    {"fused_tanh_lenet", {.units = 84, .activation = FusedActivation::Tanh}, {3, 120}},
    {"fused_tanh_batch1", {.units = 120, .activation = FusedActivation::Tanh}, {1, 400}},
    {"fused_sigmoid_no_bias",
     {.units = 9, .bias = false, .activation = FusedActivation::Sigmoid},
     {4, 10}},
    {"classifier", {.units = 10}, {32, 128}},
    {"mnist_cnn_hidden_batch1", {.units = 128, .activation = FusedActivation::ReLU}, {1, 9216}},
    // Above batch 16 the forward is a matmul over w^T; inference at 17 is its smallest case.
    {"mnist_cnn_hidden", {.units = 128, .activation = FusedActivation::ReLU}, {64, 9216}},
    {"batch17_no_bias_sigmoid",
     {.units = 5, .bias = false, .activation = FusedActivation::Sigmoid},
     {17, 33}},
    {"fused_relu6", {.units = 12, .activation = FusedActivation::ReLU6}, {6, 20}},
    {"fused_relu6_batch17", {.units = 64, .activation = FusedActivation::ReLU6}, {17, 96}},
};

class DenseKernelTest : public ::testing::TestWithParam<DenseCase> {};

TEST_P(DenseKernelTest, TrainMatchesReference) {
  Dense op(GetParam().attrs);
  expect_kernel_matches_reference(op, {GetParam().x}, {.mode = Mode::Train});
}

TEST_P(DenseKernelTest, InferMatchesReference) {
  Dense op(GetParam().attrs);
  expect_kernel_matches_reference(op, {GetParam().x}, {.mode = Mode::Infer});
}

TEST_P(DenseKernelTest, FrozenLayerMatchesReference) {
  Dense op(GetParam().attrs);
  expect_kernel_matches_reference(op, {GetParam().x}, {.param_grads = false});
}

TEST_P(DenseKernelTest, ParamGradsOnlyMatchReference) {
  Dense op(GetParam().attrs);
  expect_kernel_matches_reference(op, {GetParam().x}, {.input_grads = {false}});
}

INSTANTIATE_TEST_SUITE_P(Configs, DenseKernelTest, ::testing::ValuesIn(kCases),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(DenseKernel, CommonConfigurationsUseOneDnn) {
  for (const DenseCase& c : kCases)
    for (Mode mode : {Mode::Train, Mode::Infer}) {
      Dense op(c.attrs);
      auto kernel = testing::make_cpu_kernel(testing::make_request(op, {c.x}, {.mode = mode}));
      ASSERT_NE(kernel, nullptr) << c.name;
      EXPECT_EQ(kernel->name(), "onednn") << c.name;
      EXPECT_TRUE(kernel->saved().empty()) << c.name << ": needs nothing beyond x and y";
    }
}

}  // namespace
}  // namespace convkit::backend::cpu
