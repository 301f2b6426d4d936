// Running the convkit CLI from the e2e tests: one command line through the shell, stdout and
// stderr together, and the exit code (128 + N when killed by signal N).
#pragma once

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <string>

namespace convkit::testing {

struct CliOutput {
  int code;
  std::string output;  // stdout and stderr
};

// `prefix` goes before the program: environment assignments ("CONVKIT_DATA=x") or a wrapper
// ("timeout 120").
inline CliOutput run_cli(const std::string& args, const std::string& prefix = "") {
  const std::string command = prefix + " " + std::string(CONVKIT_CLI) + " " + args + " 2>&1";
  FILE* pipe = popen(command.c_str(), "r");
  std::string output;
  std::array<char, 4096> buffer;
  while (std::size_t n = std::fread(buffer.data(), 1, buffer.size(), pipe))
    output.append(buffer.data(), n);
  const int status = pclose(pipe);
  if (WIFSIGNALED(status)) return {128 + WTERMSIG(status), output};
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, output};
}

}  // namespace convkit::testing
