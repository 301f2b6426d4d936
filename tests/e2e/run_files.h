// What the CLI tests read back from a run directory: a file's bytes, a checkpoint's weights, and
// whether two runs ended alike (the same last weights and the same history, bit for bit).
#pragma once

#include <convkit/io/checkpoint.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace convkit::testing {

inline std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline std::vector<float> weights_of(const std::filesystem::path& checkpoint) {
  const io::LoadedCheckpoint loaded = io::load_checkpoint(checkpoint);
  const ParamBlock block = loaded.model.parameter_block();
  return {block.params, block.params + block.numel};
}

// Run directories `a` and `b` ended at the same weights with the same history.
inline void expect_same_end(const std::filesystem::path& a, const std::filesystem::path& b) {
  EXPECT_EQ(weights_of(a / "checkpoints/last.ckpt"), weights_of(b / "checkpoints/last.ckpt"))
      << a << " and " << b;
  EXPECT_EQ(read_file(a / "history.csv"), read_file(b / "history.csv")) << a << " and " << b;
}

}  // namespace convkit::testing
