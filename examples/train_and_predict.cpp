// Example: a whole run through the library, no CLI code. It makes a small synthetic image
// dataset in memory (16x16 gray images of a bar: horizontal, vertical, diagonal or
// anti-diagonal -> 4 classes), trains a CNN on it with run::train from a RunConfig written in
// YAML (leaving a complete run directory: config, history, checkpoints, metrics, report), then
// writes one PNG per class and classifies each PNG file's bytes with a train::Predictor opened
// from the run directory. Exits 0 when the run reaches 90% test accuracy and every PNG gets its
// class, 1 otherwise.
//
//   build/release/examples/train_and_predict [--out DIR]
#include <convkit/io/png_writer.h>
#include <convkit/run/run_dir.h>
#include <convkit/run/train.h>
#include <convkit/train/predictor.h>
#include <convkit/util/rng.h>

#include <fmt/format.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>

namespace ck = convkit;
namespace fs = std::filesystem;

namespace {

constexpr int kSize = 16;
const std::vector<std::string> kClasses{"horizontal", "vertical", "diagonal", "anti-diagonal"};

// The image of class `label` with the bar shifted by `offset`, plus noise from `key`.
void draw(std::uint8_t* img, int label, int offset, std::uint64_t key) {
  for (int i = 0; i < kSize * kSize; ++i)
    img[i] = std::uint8_t(ck::philox(key, std::uint64_t(i))[0] % 60);
  for (int a = 0; a < kSize; ++a)
    for (int w = -1; w <= 1; ++w) {
      const int b = kSize / 2 + offset + w;
      int row = a, col = b;
      if (label == 0) row = b, col = a;
      if (label == 2) row = a, col = a + offset + w;
      if (label == 3) row = a, col = kSize - 1 - a + offset + w;
      if (row >= 0 && row < kSize && col >= 0 && col < kSize) img[row * kSize + col] = 230;
    }
}

ck::data::Dataset make_dataset(std::int64_t n, std::uint64_t seed) {
  ck::data::Dataset d{.images = ck::Tensor::empty({n, 1, kSize, kSize}, ck::DType::u8),
                      .labels = ck::Tensor::empty({n}, ck::DType::i32),
                      .num_classes = int(kClasses.size()),
                      .class_names = kClasses,
                      .name = "bars"};
  for (std::int64_t i = 0; i < n; ++i) {
    const auto r = ck::philox(seed, std::uint64_t(i));
    const int label = int(r[0] % kClasses.size()), offset = int(r[1] % 9) - 4;
    d.labels.data<std::int32_t>()[i] = label;
    draw(d.images.data<std::uint8_t>() + i * kSize * kSize, label, offset,
         ck::derive_key(seed, fmt::format("n{}", i)));
  }
  return d;
}

const char* kConfig = R"(
dataset: {name: bars}
model:
  input: [1, 16, 16]
  layers:
    - {type: conv2d, filters: 16, kernel: 3, padding: same, activation: relu}
    - {type: max_pool2d}
    - {type: conv2d, filters: 32, kernel: 3, padding: same, activation: relu}
    - {type: global_avg_pool2d}
    - {type: dense, units: 4}
train:
  epochs: 4
  batch_size: 32
  optimizer: {type: adam, lr: 0.01}
  tensorboard: false
)";

}  // namespace

int main(int argc, char** argv) {
  fs::path out = fs::temp_directory_path() / "convkit-train-and-predict";
  for (int i = 1; i + 1 < argc; ++i)
    if (std::strcmp(argv[i], "--out") == 0) out = argv[i + 1];
  fs::remove_all(out);
  try {
    // 1. Train: a RunConfig from YAML text, our own data instead of a dataset by name.
    const ck::run::RunConfig config =
        ck::run::parse_run_config(kConfig, "train_and_predict config");
    ck::run::LoadedData data{.train = make_dataset(2000, 1),
                             .test = make_dataset(400, 2),
                             .class_names = kClasses,
                             .preprocess = {.mean = {0.2f}, .std = {0.3f}}};
    const ck::run::RunResult result = ck::run::train(
        config, {.out = out / "run", .data = data, .show_summary = false, .progress = false});
    fmt::print("run::train: test accuracy {:.2f}% after {} epochs; run directory {}\n",
               100 * result.test.accuracy, result.epoch, result.dir.string());

    // 2. Predict PNG files through a Predictor opened from the run directory.
    ck::train::Predictor predictor = ck::run::open_predictor(result.dir);
    int correct = 0;
    for (int label = 0; label < int(kClasses.size()); ++label) {
      ck::Tensor image = ck::Tensor::empty({1, kSize, kSize}, ck::DType::u8);
      draw(image.data<std::uint8_t>(), label, 1, ck::derive_key(99, kClasses[std::size_t(label)]));
      const fs::path png = out / (kClasses[std::size_t(label)] + ".png");
      ck::io::write_png(png, image);
      std::ifstream in(png, std::ios::binary);
      const std::string bytes{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
      const ck::Tensor p = predictor.predict_encoded(
          std::as_bytes(std::span(bytes.data(), bytes.size())), png.string());
      const auto top = ck::train::top_k(p, 0, 1, predictor.class_names())[0];
      fmt::print("{}: {} ({:.1f}%)\n", png.filename().string(), top.label, 100 * top.probability);
      correct += top.index == label;
    }
    const bool ok = result.test.accuracy >= 0.9 && correct == int(kClasses.size());
    fmt::print(
        "{}\n",
        ok ? "ok" : "FAILED: expected >= 90% test accuracy and every PNG classified correctly");
    return ok ? 0 : 1;
  } catch (const std::exception& e) {
    fmt::print(stderr, "train_and_predict: {}\n", e.what());
    return 1;
  }
}
