// Helpers for the libFuzzer targets: run a parser on the input and let only convkit::Error
// through (the documented way to reject bad input); any other exception, crash, leak or
// undefined behaviour is a finding. File-based parsers get the input through a temporary file.
#pragma once

#include <convkit/util/error.h>

#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <string>

namespace convkit::fuzz {

// A per-process scratch file (in /dev/shm when there is one) holding the current input.
inline std::filesystem::path write_input(const std::uint8_t* data, std::size_t size, const char* name) {
  static const std::filesystem::path dir = std::filesystem::exists("/dev/shm") ? "/dev/shm" : "/tmp";
  const auto path = dir / ("convkit-fuzz-" + std::to_string(::getpid()) + "-" + name);
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (f) {
    if (size) std::fwrite(data, 1, size, f);
    std::fclose(f);
  }
  return path;
}

template <typename F> void expect_only_errors(F&& f) {
  try {
    f();
  } catch (const Error&) {
    // A clear rejection: fine.
  }
}

}  // namespace convkit::fuzz
