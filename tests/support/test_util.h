// Small helpers shared by tests: an error's message, substring expectations, tensor values.
#pragma once

#include <convkit/tensor/tensor.h>

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace convkit::testing {

// The message of the E thrown by f(), or "(no error)".
template <typename E, typename F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const E& e) {
    return e.what();
  }
  return "(no error)";
}

inline void expect_contains(const std::string& text, const std::string& part) {
  EXPECT_NE(text.find(part), std::string::npos) << "'" << part << "' not in: " << text;
}

// The elements of an f32 tensor.
inline std::vector<float> values(const Tensor& t) {
  return {t.data<float>(), t.data<float>() + t.numel()};
}

}  // namespace convkit::testing
