// Helpers for the run/ tests: a temporary directory, a small learnable synthetic dataset (noisy
// 12x12 bars in 4 orientations) and a small config that trains on it in well under a second.
#pragma once

#include <convkit/data/dataset.h>
#include <convkit/run/datasets.h>
#include <convkit/util/rng.h>

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

namespace convkit::run::testing {

namespace fs = std::filesystem;

struct TempDir {
  fs::path path;
  TempDir() {
    path = fs::temp_directory_path() /
           ("convkit-run-test-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~TempDir() { fs::remove_all(path); }
};

inline data::Dataset bars(std::int64_t n, std::uint64_t seed) {
  constexpr int s = 12;
  data::Dataset d{.images = Tensor::zeros({n, 1, s, s}, DType::u8),
                  .labels = Tensor::zeros({n}, DType::i32),
                  .num_classes = 4,
                  .class_names = {"h", "v", "d", "a"},
                  .name = "bars"};
  for (std::int64_t i = 0; i < n; ++i) {
    const auto r = philox(seed, std::uint64_t(i));
    const int label = int(r[0] % 4), offset = int(r[1] % 5) - 2;
    d.labels.data<std::int32_t>()[i] = label;
    std::uint8_t* img = d.images.data<std::uint8_t>() + i * s * s;
    for (int p = 0; p < s * s; ++p)
      img[p] = std::uint8_t(philox(seed + 1, std::uint64_t(i * s * s + p))[0] % 100);
    for (int a = 0; a < s; ++a) {
      const int b = s / 2 + offset;
      int row = a, col = b;
      if (label == 0) row = b, col = a;
      if (label == 2) col = std::clamp(a + offset, 0, s - 1);
      if (label == 3) col = std::clamp(s - 1 - a + offset, 0, s - 1);
      img[row * s + col] = 250;
    }
  }
  return d;
}

inline LoadedData bars_data() {
  return {.train = bars(512, 1),
          .test = bars(128, 2),
          .class_names = {"h", "v", "d", "a"},
          .preprocess = {.mean = {0.25f}, .std = {0.3f}}};
}

inline const char* kBarsConfig = R"(
dataset: {name: bars}
model:
  input: [1, 12, 12]
  layers:
    - {type: conv2d, filters: 8, kernel: 3, padding: same, activation: relu}
    - {type: max_pool2d}
    - {type: flatten}
    - {type: dense, units: 4}
train:
  epochs: 3
  batch_size: 32
  eval_batch_size: 50
  optimizer: {type: adam, lr: 0.01}
  tensorboard: false
  threads: 2  # a fixed team: runs are compared bit for bit (thread_share.h)
)";

// The bars as IDX files in `dir` (dataset name idx, read with --data) and `dir`/../bars.yaml:
// kBarsConfig reading them, with a validation split; for the CLI tests.
inline void write_bars_files(const fs::path& dir, std::int64_t train, std::int64_t test,
                             int threads = 2) {
  fs::create_directories(dir);
  data::write_idx(bars(train, 1), dir / "train-images-idx3-ubyte", dir / "train-labels-idx1-ubyte");
  data::write_idx(bars(test, 2), dir / "t10k-images-idx3-ubyte", dir / "t10k-labels-idx1-ubyte");
  std::string config = kBarsConfig;
  config.replace(config.find("{name: bars}"), 12, "{name: idx, validation_split: 0.2}");
  config.replace(config.find("threads: 2"), 10, "threads: " + std::to_string(threads));
  std::ofstream(dir.parent_path() / "bars.yaml") << config;
}

}  // namespace convkit::run::testing
