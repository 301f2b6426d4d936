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

// Synchronised statistics (data-parallel): a stand-in for a second rank holding the same batch
// doubles every sum and the count.
const ops::BatchSums kTwoIdenticalRanks = [](std::span<double> sums) {
  for (double& v : sums) v *= 2;
};

TEST(BatchNormKernel, SynchronisedStatisticsMatchTheReferenceAndOnlyThePlainKernelTakesThem) {
  for (const BnCase& c : kCases) {
    if (c.x[0] * c.x.numel_from(2) < 2) continue;
    SCOPED_TRACE(c.name);
    BatchNorm op(c.attrs);
    expect_kernel_matches_reference(
        op, {c.x}, {.factory = &make_batch_norm_simd_kernel, .batch_sums = &kTwoIdenticalRanks});
    auto request = testing::make_request(op, {c.x}, {.batch_sums = &kTwoIdenticalRanks});
    EXPECT_EQ(make_batch_norm_kernel(request), nullptr);  // oneDNN gathers its own statistics
    EXPECT_TRUE(batch_norm_layout_offer(request).inputs.empty());  // so no blocked layout
  }
}

// Two ranks holding the same batch have that batch's statistics: the synchronised kernel gives
// what the unsynchronised one does (outputs, running statistics, all gradients).
TEST(BatchNormKernel, SynchronisedOverIdenticalRanksEqualsOneRank) {
  BatchNorm op({.activation = FusedActivation::ReLU});
  const Shape xs{4, 8, 6, 6};
  struct Result {
    Tensor y, running_mean, running_var, dx, dgamma, dbeta;
  };
  auto run = [&](const ops::BatchSums* sums) {
    auto kernel =
        make_batch_norm_simd_kernel(testing::make_request(op, {xs}, {.batch_sums = sums}));
    EXPECT_NE(kernel, nullptr);
    Tensor x = Tensor::empty(xs, DType::f32), dy = Tensor::empty(xs, DType::f32);
    for (std::int64_t i = 0; i < x.numel(); ++i) {
      x.data<float>()[i] = float((i * 37) % 101) / 25.0f - 1.5f;
      dy.data<float>()[i] = float((i * 53) % 97) / 40.0f - 1.0f;
    }
    Result r{Tensor::empty(xs, DType::f32),  Tensor::zeros({8}, DType::f32),
             Tensor::full({8}, 1.0f),        Tensor::empty(xs, DType::f32),
             Tensor::empty({8}, DType::f32), Tensor::empty({8}, DType::f32)};
    const Tensor gamma = Tensor::full({8}, 1.5f), beta = Tensor::full({8}, 0.25f);
    std::vector<Tensor> saved;
    for (const TensorSpec& spec : kernel->saved())
      saved.push_back(Tensor::empty(spec.shape, spec.dtype));
    const std::vector<Tensor> in{x}, out{r.y}, params{gamma, beta, r.running_mean, r.running_var};
    kernel->forward({.inputs = in,
                     .outputs = out,
                     .params = params,
                     .saved = saved,
                     .mode = Mode::Train,
                     .batch_sums = sums});
    const std::vector<Tensor> grads_out{dy}, grads_in{r.dx}, grads_params{r.dgamma, r.dbeta};
    kernel->backward({.inputs = in,
                      .outputs = out,
                      .params = params,
                      .saved = saved,
                      .grad_outputs = grads_out,
                      .grad_inputs = grads_in,
                      .grad_params = grads_params,
                      .mode = Mode::Train,
                      .batch_sums = sums});
    return r;
  };
  const Result one = run(nullptr), two = run(&kTwoIdenticalRanks);
  testing::expect_close(two.y, one.y, 1e-5f, "y");
  testing::expect_close(two.running_mean, one.running_mean, 1e-5f, "running_mean");
  // The unbiased running variance uses the job's count (2 x 144 values per channel, not 144).
  for (int c = 0; c < 8; ++c) {
    const double biased_from_one = (one.running_var.data<float>()[c] - 0.9) / 0.1 * 143.0 / 144.0;
    const double biased_from_two = (two.running_var.data<float>()[c] - 0.9) / 0.1 * 287.0 / 288.0;
    EXPECT_NEAR(biased_from_two, biased_from_one, 1e-4) << "channel " << c;
  }
  testing::expect_close(two.dx, one.dx, 1e-5f, "dx");
  testing::expect_close(two.dgamma, one.dgamma, 1e-5f, "dgamma (this rank's own)");
  testing::expect_close(two.dbeta, one.dbeta, 1e-5f, "dbeta (this rank's own)");
}

}  // namespace
}  // namespace convkit::backend::cpu
