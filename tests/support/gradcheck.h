// Test support: finite-difference gradient checks and random tensors for op tests.
#pragma once

#include "ops/op.h"

#include <cstdint>
#include <vector>

namespace convkit::testing {

// A tensor filled from N(0, 1) (or U(lo, hi)), deterministic from `seed`.
Tensor random_normal(const Shape& shape, std::uint64_t seed, float stddev = 1.0f);
Tensor random_uniform(const Shape& shape, std::uint64_t seed, float lo, float hi);

struct GradCheckOptions {
  float eps = 1e-2f;   // central-difference step
  float atol = 1e-2f;  // |analytic - numeric| <= atol + rtol * |numeric|
  float rtol = 2e-2f;
  int max_checks_per_tensor = 64;  // elements probed per tensor (all when the tensor is smaller)
  ops::Mode mode = ops::Mode::Train;
  std::uint64_t rng_key = 7;
};

// Runs the op's reference forward and backward and checks every differentiable input and every
// trainable parameter against central finite differences of L = sum(R * forward(x)), R random.
// Reports failures through GoogleTest (EXPECT-style, with the tensor, index and both values).
void expect_gradients_match(const ops::Op& op, const std::vector<Tensor>& inputs,
                            const std::vector<Tensor>& params,
                            const GradCheckOptions& options = {});

// Runs the reference forward once (Infer or Train mode) and returns the outputs.
std::vector<Tensor> run_forward(const ops::Op& op, const std::vector<Tensor>& inputs,
                                const std::vector<Tensor>& params,
                                ops::Mode mode = ops::Mode::Infer, std::uint64_t rng_key = 7,
                                std::uint64_t step = 0);

// Fresh parameter tensors for `op` on these inputs, initialized with each ParamSpec's default.
std::vector<Tensor> make_params(const ops::Op& op, const std::vector<Tensor>& inputs,
                                std::uint64_t seed = 3);

}  // namespace convkit::testing
