// A small synthetic dataset for the CLI tests: noisy 28x28 images of a bar in one of four
// orientations (horizontal, vertical, diagonal, anti-diagonal), seeded.
#pragma once

#include <convkit/data/dataset.h>
#include <convkit/util/rng.h>

#include <cstdint>
#include <filesystem>

namespace convkit::testing {

// Noisy 28x28 images of a bar: horizontal, vertical, diagonal, anti-diagonal.
inline data::Dataset bars(std::int64_t n, std::uint64_t seed) {
  data::Dataset d;
  d.images = Tensor::zeros({n, 1, 28, 28}, DType::u8);
  d.labels = Tensor::zeros({n}, DType::i32);
  d.num_classes = 4;
  d.class_names = {"0", "1", "2", "3"};
  auto* px = d.images.data<std::uint8_t>();
  for (std::int64_t i = 0; i < n; ++i) {
    auto r = philox(seed, std::uint64_t(i));
    const int label = int(r[0] % 4), offset = int(r[1] % 11) - 5;
    d.labels.data<std::int32_t>()[i] = label;
    std::uint8_t* img = px + i * 784;
    for (int j = 0; j < 784; ++j)
      img[j] = std::uint8_t(philox(seed + 1, std::uint64_t(i * 784 + j))[0] % 60);
    for (int a = 0; a < 28; ++a)
      for (int w = -1; w <= 1; ++w) {
        int b = 14 + offset + w, row = 0, col = 0;
        if (label == 0)
          row = b, col = a;
        else if (label == 1)
          row = a, col = b;
        else if (label == 2)
          row = a, col = a + offset + w;
        else
          row = a, col = 27 - a + offset + w;
        if (row >= 0 && row < 28 && col >= 0 && col < 28) img[row * 28 + col] = 230;
      }
  }
  return d;
}

// A small CNN for the bars (BatchNorm, dropout, a fixed thread team), trained by the CLI tests.
inline const char* const kTinyConfig = R"(dataset: {name: idx}
model:
  input: [1, 28, 28]
  layers:
    - {type: conv2d, filters: 8, kernel: 3, activation: relu}
    - {type: max_pool2d, pool: 2}
    - {type: conv2d, filters: 16, kernel: 3, use_bias: false}
    - {type: batch_norm, activation: relu}
    - {type: global_avg_pool2d}
    - {type: dropout, rate: 0.1}
    - {type: dense, units: 4}
train:
  epochs: 3
  batch_size: 50
  eval_batch_size: 128
  optimizer: {type: adam, lr: 0.01}
  schedule: {type: cosine}
  threads: 2  # a fixed team: runs are compared bit for bit (thread_share.h)
)";

// The CLI tests' IDX folder: 2,000 training images (gzip) and 400 test images (plain).
inline void write_bars_idx(const std::filesystem::path& dir) {
  std::filesystem::create_directories(dir);
  data::write_idx(bars(2000, 11), dir / "train-images-idx3-ubyte.gz",
                  dir / "train-labels-idx1-ubyte.gz", true);
  data::write_idx(bars(400, 99), dir / "t10k-images-idx3-ubyte", dir / "t10k-labels-idx1-ubyte");
}

}  // namespace convkit::testing
