// Errors: one exception type with a readable, context-rich message built with fmt.
// Inside the library we throw; boundaries (CLI, loaders) catch and report.
#pragma once

#include <fmt/format.h>

#include <stdexcept>
#include <string>

namespace convkit {

// Every failure convkit reports to a user is an Error whose what() is one readable line.
class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

// A shape rule was violated; the graph builder prefixes the layer name and input shapes.
class ShapeError : public Error {
 public:
  using Error::Error;
};

template <typename... Args>
[[noreturn]] void fail(fmt::format_string<Args...> format, Args&&... args) {
  throw Error(fmt::format(format, std::forward<Args>(args)...));
}

template <typename... Args>
[[noreturn]] void shape_fail(fmt::format_string<Args...> format, Args&&... args) {
  throw ShapeError(fmt::format(format, std::forward<Args>(args)...));
}

}  // namespace convkit

namespace ck = convkit;
