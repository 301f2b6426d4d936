// The vectorized Dropout kernel against the reference: bit-identical masks (tolerance 0) in
// forward and backward for several rates, odd sizes (partial last chunk) and a tensor large
// enough to run on several threads; inference is the identity; spatial dropout stays on the
// reference. A disabled timing test compares the two.
#include "backend/cpu/kernels.h"
#include "ops/dropout.h"
#include "support/gradcheck.h"
#include "support/kernel_check.h"
#include "support/timing.h"

#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <cstring>
#include <limits>
#include <vector>

namespace convkit::backend::cpu {
namespace {

using ops::Dropout;
using ops::Mode;
using testing::expect_kernel_matches_reference;

TEST(DropoutKernel, MasksAreBitIdenticalToTheReference) {
  for (double rate : {0.0, 0.25, 0.5, 0.9})
    for (const Shape& x : {Shape{3, 7}, Shape{128, 64, 12, 12}, Shape{1, 1}, Shape{2, 65}}) {
      Dropout op({.rate = rate});
      expect_kernel_matches_reference(
          op, {x}, {.mode = Mode::Train, .tolerance = 0.0f, .factory = make_dropout_kernel});
      expect_kernel_matches_reference(
          op, {x}, {.mode = Mode::Infer, .tolerance = 0.0f, .factory = make_dropout_kernel});
    }
}

// Dropped elements are x * 0 as in the reference: NaN and infinities give NaN, negatives -0.
TEST(DropoutKernel, DroppedNonFiniteAndNegativeValuesMatchTheReferenceBitForBit) {
  const float inf = std::numeric_limits<float>::infinity(),
              nan = std::numeric_limits<float>::quiet_NaN();
  std::vector<float> xv(70), ref(70), fast(70);
  for (std::size_t i = 0; i < xv.size(); ++i)
    xv[i] = std::array<float, 5>{nan, inf, -inf, -1.5f, -0.0f}[i % 5];
  Dropout op({.rate = 0.5});
  auto kernel = make_dropout_kernel(testing::make_request(op, {{70}}, {}));
  ASSERT_NE(kernel, nullptr);
  const Tensor x = Tensor::wrap(xv.data(), {70}), yr = Tensor::wrap(ref.data(), {70}),
               yf = Tensor::wrap(fast.data(), {70});
  // The training forward keeps its decisions (one bit per element) for backward.
  ASSERT_EQ(kernel->saved().size(), 1u);
  Tensor kept = Tensor::zeros(kernel->saved()[0].shape, kernel->saved()[0].dtype);
  op.forward(
      {.inputs = {&x, 1}, .outputs = {&yr, 1}, .mode = Mode::Train, .rng_key = 5, .step = 2});
  kernel->forward({.inputs = {&x, 1},
                   .outputs = {&yf, 1},
                   .saved = {&kept, 1},
                   .mode = Mode::Train,
                   .rng_key = 5,
                   .step = 2});
  EXPECT_EQ(std::memcmp(ref.data(), fast.data(), ref.size() * sizeof(float)), 0);
  // Backward from the saved bits: the same bits as the reference regenerating the mask (the
  // kernel is given another step, so a kernel that regenerated instead would differ).
  op.backward({.grad_outputs = {&x, 1}, .grad_inputs = {&yr, 1}, .rng_key = 5, .step = 2});
  kernel->backward({.saved = {&kept, 1},
                    .grad_outputs = {&x, 1},
                    .grad_inputs = {&yf, 1},
                    .rng_key = 6,
                    .step = 9});
  EXPECT_EQ(std::memcmp(ref.data(), fast.data(), ref.size() * sizeof(float)), 0);
}

TEST(DropoutKernel, TheBackendPicksItExceptForSpatialDropout) {
  Dropout plain({.rate = 0.5}), spatial({.rate = 0.5, .spatial = true});
  auto a = testing::make_cpu_kernel(testing::make_request(plain, {{4, 8, 5, 5}}, {}));
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->name(), "simd");
  EXPECT_EQ(testing::make_cpu_kernel(testing::make_request(spatial, {{4, 8, 5, 5}}, {})), nullptr);
}

// mnist_cnn's first dropout ([128, 64, 12, 12], rate 0.25): best of 20 forward and backward
// calls (the reference regenerates the mask in backward, the kernel reads its saved bits).
// Run with --gtest_also_run_disabled_tests --gtest_filter='*DropoutTiming*'.
TEST(DropoutKernel, DISABLED_DropoutTiming) {
  Dropout op({.rate = 0.25});
  const Shape shape{128, 64, 12, 12};
  auto request = testing::make_request(op, {shape}, {});
  Tensor x = testing::random_normal(shape, 1), y = Tensor::zeros(shape), dx = Tensor::zeros(shape);
  auto simd = make_dropout_kernel(request);
  ASSERT_EQ(simd->saved().size(), 1u);
  Tensor kept = Tensor::zeros(simd->saved()[0].shape, simd->saved()[0].dtype);
  const ops::ForwardCall ref_call{.inputs = std::span(&x, 1),
                                  .outputs = std::span(&y, 1),
                                  .mode = Mode::Train,
                                  .rng_key = 7,
                                  .step = 3};
  ops::ForwardCall call = ref_call;
  call.saved = std::span(&kept, 1);
  const ops::BackwardCall ref_back{
      .grad_outputs = std::span(&y, 1), .grad_inputs = std::span(&dx, 1), .rng_key = 7, .step = 3};
  ops::BackwardCall back = ref_back;
  back.saved = std::span(&kept, 1);
  std::printf(
      "forward: reference %.3f ms, simd %.3f ms; backward: reference %.3f ms, simd %.3f ms\n",
      testing::best_ms(20, [&] { op.forward(ref_call); }),
      testing::best_ms(20, [&] { simd->forward(call); }),
      testing::best_ms(20, [&] { op.backward(ref_back); }),
      testing::best_ms(20, [&] { simd->backward(back); }));
}

}  // namespace
}  // namespace convkit::backend::cpu
