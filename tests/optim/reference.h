// Test support for the optimizer tests: the inputs shared with tests/optim/make_expected.py
// (keep both identical) laid out as an arena would, and a runner that compares each step with
// PyTorch's values. Layout: w = 4 floats at offset 0, b = 2 floats at offset 16 (64-byte
// aligned), P = 18; the gap between them holds sentinels that must never change or be read.
#pragma once

#include <convkit/optim/optimizer.h>

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

namespace convkit::optim::testing {

constexpr float kW0[4] = {0.5f, -1.25f, 2.0f, -0.75f};
constexpr float kB0[2] = {0.1f, -0.3f};
constexpr float kGradW[4][4] = {{0.3f, -0.8f, 1.5f, 0.0f},
                                {-0.2f, 0.4f, 0.9f, -0.6f},
                                {0.05f, -0.1f, -0.3f, 0.25f},
                                {0.01f, 0.02f, 0.1f, -0.05f}};
constexpr float kGradB[4][2] = {{2.0f, -1.0f}, {-0.5f, 0.25f}, {0.1f, 0.2f}, {-0.02f, 0.03f}};
constexpr std::int64_t kOffsetB = 16;
constexpr float kGapParam = 7.0f;

struct RefBlock {
  std::vector<float> params = std::vector<float>(kOffsetB + 2, kGapParam);
  // NaN in the gap: if an optimizer read it, the norm and every state would turn NaN.
  std::vector<float> grads =
      std::vector<float>(kOffsetB + 2, std::numeric_limits<float>::quiet_NaN());
  std::vector<ParamSlot> slots{{.name = "w", .offset = 0, .numel = 4},
                               {.name = "b", .offset = kOffsetB, .numel = 2}};

  RefBlock() {
    for (int i = 0; i < 4; ++i) params[i] = kW0[i];
    for (int i = 0; i < 2; ++i) params[kOffsetB + i] = kB0[i];
  }
  void set_grads(int step) {
    for (int i = 0; i < 4; ++i) grads[i] = kGradW[step][i];
    for (int i = 0; i < 2; ++i) grads[kOffsetB + i] = kGradB[step][i];
  }
  ParamBlock block() {
    return {.params = params.data(),
            .grads = grads.data(),
            .numel = static_cast<std::int64_t>(params.size()),
            .slots = slots};
  }
  float value(int j) const { return j < 4 ? params[j] : params[kOffsetB + j - 4]; }
};

// Runs four steps with the shared gradients and expects [w0..w3, b0, b1] after step s to match
// expected[s] within float rounding (PyTorch's kernels may use FMA or other evaluation orders).
inline void expect_matches_reference(Optimizer& opt, const float (&expected)[4][6]) {
  RefBlock ref;
  for (int s = 0; s < 4; ++s) {
    ref.set_grads(s);
    opt.step(ref.block());
    for (int j = 0; j < 6; ++j) {
      const float e = expected[s][j];
      EXPECT_NEAR(ref.value(j), e, 1e-6f + 1e-6f * std::fabs(e))
          << "step " << s + 1 << ", value " << j;
    }
  }
  EXPECT_EQ(opt.steps(), 4);
  for (std::int64_t i = 4; i < kOffsetB; ++i)
    EXPECT_EQ(ref.params[i], kGapParam) << "gap element " << i;
  EXPECT_TRUE(std::isfinite(opt.last_grad_norm()));
}

}  // namespace convkit::optim::testing
