// The oneDNN Softmax kernel against the reference kernel: over K of [N, K] and of
// [N, K, ...] at each position, forward (Train/Infer) and backward from the output.
#include "backend/cpu/kernels.h"
#include "ops/softmax.h"
#include "support/kernel_check.h"

#include <gtest/gtest.h>

namespace convkit::backend::cpu {
namespace {

using ops::Mode;
using ops::Softmax;
using testing::expect_kernel_matches_reference;

const Shape kShapes[] = {{8, 10}, {1, 1}, {3, 1000}, {2, 5, 3, 4}, {3, 7, 9}};

TEST(SoftmaxKernel, TrainMatchesReference) {
  Softmax op;
  for (const Shape& x : kShapes) {
    SCOPED_TRACE(x.str());
    expect_kernel_matches_reference(op, {x}, {.mode = Mode::Train});
  }
}

TEST(SoftmaxKernel, InferMatchesReference) {
  Softmax op;
  for (const Shape& x : kShapes) {
    SCOPED_TRACE(x.str());
    expect_kernel_matches_reference(op, {x}, {.mode = Mode::Infer});
  }
}

TEST(SoftmaxKernel, LargeLogitsStayFinite) {
  // Logits in the tens: a softmax without the max subtraction would overflow exp().
  Softmax op;
  expect_kernel_matches_reference(op, {{16, 10}}, {.mode = Mode::Train, .input_scale = 40.0f});
}

TEST(SoftmaxKernel, UsesOneDnn) {
  Softmax op;
  for (const Shape& x : kShapes)
    for (Mode mode : {Mode::Train, Mode::Infer}) {
      auto kernel = testing::make_cpu_kernel(testing::make_request(op, {x}, {.mode = mode}));
      ASSERT_NE(kernel, nullptr) << x.str();
      EXPECT_EQ(kernel->name(), "onednn");
    }
}

}  // namespace
}  // namespace convkit::backend::cpu
