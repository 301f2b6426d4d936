// The oneDNN eltwise kernel against the reference kernel for every ActivationKind it computes (and
// the slope/approximation variants), forward in Train and Infer, backward from x or from y as the
// op's backward_needs() declares.
#include "backend/cpu/kernels.h"
#include "backend/cpu/onednn_common.h"
#include "ops/activation.h"
#include "support/kernel_check.h"

#include <gtest/gtest.h>

namespace convkit::backend::cpu {
namespace {

using ops::Activation;
using ops::ActivationAttrs;
using ops::ActivationKind;
using ops::Mode;
using testing::expect_kernel_matches_reference;

struct ActCase {
  const char* name;
  ActivationKind kind;
  ActivationAttrs attrs;
};

void PrintTo(const ActCase& c, std::ostream* os) {
  *os << c.name;
}

const ActCase kCases[] = {
    {"relu", ActivationKind::ReLU, {}},
    {"leaky_relu_default", ActivationKind::LeakyReLU, {}},
    {"leaky_relu_0_2", ActivationKind::LeakyReLU, {.alpha = 0.2}},
    {"elu_default", ActivationKind::ELU, {}},
    {"elu_0_5", ActivationKind::ELU, {.alpha = 0.5}},
    {"gelu_erf", ActivationKind::GELU, {}},
    {"gelu_tanh", ActivationKind::GELU, {.gelu_tanh = true}},
    {"silu", ActivationKind::SiLU, {}},
    {"sigmoid", ActivationKind::Sigmoid, {}},
    {"tanh", ActivationKind::Tanh, {}},
    {"relu6", ActivationKind::ReLU6, {}},
    {"clip_m1_2", ActivationKind::Clip, {.min = -1.0, .max = 2.0}},
    {"hard_swish", ActivationKind::HardSwish, {}},
    {"hard_sigmoid", ActivationKind::HardSigmoid, {}},  // eltwise_linear + eltwise_clip_v2
};

const Shape kShapes[] = {{4, 3, 5, 6}, {8, 17}, {1, 1}, {2, 64, 9, 9}};

class ActivationKernelTest : public ::testing::TestWithParam<ActCase> {};

TEST_P(ActivationKernelTest, TrainMatchesReference) {
  Activation op(GetParam().kind, GetParam().attrs);
  for (const Shape& x : kShapes) {
    SCOPED_TRACE(x.str());
    expect_kernel_matches_reference(op, {x}, {.mode = Mode::Train});
  }
}

TEST_P(ActivationKernelTest, InferMatchesReference) {
  Activation op(GetParam().kind, GetParam().attrs);
  for (const Shape& x : kShapes) {
    SCOPED_TRACE(x.str());
    expect_kernel_matches_reference(op, {x}, {.mode = Mode::Infer});
  }
}

TEST_P(ActivationKernelTest, WideInputRangeMatchesReference) {
  // Tails: saturating sigmoid/tanh, exp of very negative ELU inputs, GELU far from 0.
  Activation op(GetParam().kind, GetParam().attrs);
  expect_kernel_matches_reference(op, {{16, 256}},
                                  {.mode = Mode::Train, .seed = 5, .input_scale = 6.0f});
}

INSTANTIATE_TEST_SUITE_P(Kinds, ActivationKernelTest, ::testing::ValuesIn(kCases),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(ActivationKernel, EveryKindUsesOneDnn) {
  for (const ActCase& c : kCases)
    for (Mode mode : {Mode::Train, Mode::Infer}) {
      Activation op(c.kind, c.attrs);
      auto kernel = testing::make_cpu_kernel(testing::make_request(op, {{4, 8}}, {.mode = mode}));
      ASSERT_NE(kernel, nullptr) << c.name;
      EXPECT_EQ(kernel->name(), "onednn") << c.name;
      EXPECT_TRUE(kernel->saved().empty()) << c.name;
    }
}

// The oneDNN column of the activation table: every kind an Activation op computes has an eltwise
// (both directions it may need), except HardSigmoid (oneDNN 2.6 has none: its kernel composes
// two), and every kind that fuses into conv/dense/max-pool has its post-op and from-y backward.
TEST(ActivationKernel, EltwiseTableCoversTheActivationTable) {
  for (const auto& row : ops::activation_table()) {
    SCOPED_TRACE(std::string(row.name));
    if (row.op_type.empty() || row.kind == ActivationKind::Softmax) continue;
    if (row.kind == ActivationKind::HardSigmoid) {
      EXPECT_FALSE(eltwise_of(row.kind, false).has_value());
      EXPECT_FALSE(row.fuses);
      continue;
    }
    EXPECT_TRUE(eltwise_of(row.kind, false, float(row.alpha), float(row.beta)).has_value());
    if (row.from_output)
      EXPECT_TRUE(eltwise_of(row.kind, true, float(row.alpha), float(row.beta)).has_value());
    if (row.fuses) {
      const Eltwise fwd = fused_eltwise(row.kind, false), bwd = fused_eltwise(row.kind, true);
      EXPECT_NE(fwd.alg, bwd.alg);
    } else {
      EXPECT_THROW(fused_eltwise(row.kind, false), Error);
    }
  }
  const Eltwise relu6 = fused_eltwise(ActivationKind::ReLU6, false);
  EXPECT_EQ(relu6.alg, dnnl::algorithm::eltwise_clip_v2);
  EXPECT_EQ(relu6.alpha, 0.0f);
  EXPECT_EQ(relu6.beta, 6.0f);
}

}  // namespace
}  // namespace convkit::backend::cpu
