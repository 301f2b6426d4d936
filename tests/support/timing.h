// Test support: the best-of-N wall time of a call, for the DISABLED_*Timing tests that record
// why a kernel-selection rule is what it is. NOTE: the best of the repetitions, not the mean: on
// a shared machine the mean mostly measures the other processes.
#pragma once

#include <algorithm>
#include <chrono>

namespace convkit::testing {

// Milliseconds of the fastest of `reps` calls of f().
template <typename F>
double best_ms(int reps, F&& f) {
  double best = 1e300;
  for (int i = 0; i < reps; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    f();
    best = std::min(
        best,
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  return best;
}

}  // namespace convkit::testing
