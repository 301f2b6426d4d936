// run::train on image files: a folder of class folders (PNG files of different sizes, grey and
// RGB) streamed through the loader's workers at the model's input size, with the test part from
// test/ or a stratified test_split; the class names travel into the checkpoint, run::evaluate
// reads the run back, and configs that cannot work are ConfigErrors naming what to set.
#include "run/run_test_util.h"

#include <convkit/data/augment.h>
#include <convkit/io/png_writer.h>
#include <convkit/run/errors.h>
#include <convkit/run/evaluate.h>
#include <convkit/run/run_dir.h>
#include <convkit/run/train.h>

#include <nlohmann/json.hpp>

namespace convkit::run {
namespace {

using testing::TempDir;
namespace fs = std::filesystem;

// The bars dataset as image files: sample i resized to a size between 12 and 30 px a side,
// every third one tinted into RGB, in root/<split>/<class>/<i>.png.
void write_bars_tree(const fs::path& root, const std::string& split, std::int64_t n,
                     std::uint64_t seed) {
  const data::Dataset d = testing::bars(n, seed);
  for (std::int64_t i = 0; i < n; ++i) {
    const auto r = philox(seed + 99, std::uint64_t(i));
    const std::int64_t h = 12 + r[0] % 19, w = 12 + r[1] % 19;
    const Tensor grey = d.images.slice(i, i + 1).reshape({1, 12, 12});
    Tensor sized = Tensor::empty({1, h, w}, DType::u8);
    data::resize(grey, sized, data::Interpolation::Bilinear);
    Tensor image = sized;
    if (i % 3 == 0) {
      image = Tensor::empty({3, h, w}, DType::u8);
      for (int k = 0; k < 3; ++k)
        for (std::int64_t p = 0; p < h * w; ++p)
          image.data<std::uint8_t>()[k * h * w + p] =
              std::uint8_t(sized.data<std::uint8_t>()[p] * (k + 2) / 4);
    }
    const std::string cls = d.class_names[std::size_t(d.labels.data<std::int32_t>()[i])];
    fs::create_directories(root / split / cls);
    io::write_png(root / split / cls / fmt::format("{:04d}.png", i), image);
  }
}

constexpr const char* kFolderConfig = R"(
dataset: {name: folder, workers: 2}
model:
  input: [3, 16, 16]
  layers:
    - {type: conv2d, filters: 8, kernel: 3, padding: same, activation: relu}
    - {type: max_pool2d}
    - {type: global_avg_pool2d}
    - {type: dense, units: 4}
train:
  epochs: 6
  batch_size: 32
  eval_batch_size: 50
  optimizer: {type: adam, lr: 0.02}
  tensorboard: false
  threads: 2
)";

TEST(RunImageFolder, TrainsFromAFolderAndEvaluatesTheRunBack) {
  TempDir tmp;
  write_bars_tree(tmp.path / "bars", "train", 400, 1);
  write_bars_tree(tmp.path / "bars", "test", 100, 2);
  const RunConfig config = parse_run_config(kFolderConfig, "test config");
  const RunResult r = train(config, {.out = tmp.path / "run",
                                     .data_dir = (tmp.path / "bars").string(),
                                     .show_summary = false,
                                     .progress = false,
                                     .verbose = false,
                                     .write_report = false});
  EXPECT_EQ(r.epoch, 6);
  EXPECT_GT(r.test.accuracy, 0.6);  // chance is 0.25
  const OpenedCheckpoint best = open_checkpoint(r.dir);
  EXPECT_EQ(best.info.class_names, (std::vector<std::string>{"a", "d", "h", "v"}));
  EXPECT_EQ(best.info.preprocess.mean.size(), 3u);  // measured per channel on the training images
  const Evaluation again = evaluate({r.dir}, {});
  EXPECT_DOUBLE_EQ(again.report.accuracy, r.test.accuracy);
  const Evaluation on_train = evaluate({r.dir}, {.split = "train"});
  EXPECT_EQ(on_train.report.samples, 400);
}

TEST(RunImageFolder, TestSplitAndMistakes) {
  TempDir tmp;
  write_bars_tree(tmp.path / "flat", "", 120, 3);  // root/<class>/, no train/ or test/
  RunConfig config = parse_run_config(kFolderConfig, "test config");
  config.epochs = 1;
  TrainOptions options{.out = tmp.path / "run",
                       .data_dir = (tmp.path / "flat").string(),
                       .show_summary = false,
                       .progress = false,
                       .verbose = false,
                       .write_report = false};
  try {
    train(config, options);
    ADD_FAILURE() << "a folder without a test part trained";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("dataset.test_split"), std::string::npos) << e.what();
  }
  config.images.test_split = 0.25;
  options.overwrite = true;
  const RunResult r = train(config, options);
  const auto metrics = nlohmann::json::parse(read_text(RunDirectory{r.dir}.metrics()));
  const auto held = metrics["test"]["samples"].get<std::int64_t>();  // a quarter of each class
  EXPECT_GE(held, 28);
  EXPECT_LE(held, 32);

  config.images.path.clear();
  options.data_dir.clear();
  try {
    train(config, options);
    ADD_FAILURE() << "no folder given";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("dataset.path or --data"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace convkit::run
