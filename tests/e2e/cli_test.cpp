// End-to-end tests of the convkit CLI on a small synthetic IDX dataset (2,000 training images of
// oriented bars, 4 classes): train writes a complete run directory, eval on best.ckpt reproduces
// the reported accuracy, predict classifies an image file, the same seed gives an identical
// history.csv, and bad configs/data/checkpoints give the documented exit codes and messages.
#include <convkit/data/dataset.h>
#include <convkit/io/checkpoint.h>
#include <convkit/util/rng.h>

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include "e2e/bars.h"
#include "e2e/cli_run.h"
#include "e2e/run_files.h"

#include <array>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace convkit {
namespace {

namespace fs = std::filesystem;

using Result = testing::CliOutput;
using testing::read_file;
using testing::weights_of;

Result run(const std::string& args, const std::string& env = "") {
  return testing::run_cli(args, env);
}

class CliTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    root_ = fs::temp_directory_path() / ("convkit_e2e_" + std::to_string(::getpid()));
    testing::write_bars_idx(root_ / "data");
    std::ofstream(root_ / "tiny.yaml") << testing::kTinyConfig;
  }
  static void TearDownTestSuite() { fs::remove_all(root_); }
  static std::string train_args(const std::string& out) {
    return "train -q --config " + (root_ / "tiny.yaml").string() + " --data " +
           (root_ / "data").string() + " --out " + (root_ / out).string();
  }
  static fs::path root_;
};
fs::path CliTest::root_;

TEST_F(CliTest, TrainEvalPredictRoundTrip) {
  auto r = run(train_args("run") + " --seed 5 --threads-unused-placeholder");
  // An unknown flag is a usage error (exit 2) naming it.
  EXPECT_EQ(r.code, 2) << r.output;
  r = run(train_args("run") + " --seed 5");
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("test accuracy"), std::string::npos) << r.output;
  for (const char* f : {"config.yaml", "history.csv", "metrics.json", "checkpoints/last.ckpt",
                        "checkpoints/best.ckpt", "report.html"})
    EXPECT_TRUE(fs::exists(root_ / "run" / f)) << f;
  bool events = false;
  for (const auto& entry : fs::directory_iterator(root_ / "run"))
    events |= entry.path().filename().string().starts_with("events.out.tfevents.");
  EXPECT_TRUE(events) << "no TensorBoard event file";
  auto metrics = nlohmann::json::parse(read_file(root_ / "run/metrics.json"));
  for (const char* key : {"test_accuracy", "test_loss", "epochs", "train_seconds",
                          "images_per_second", "parameters", "seed", "convkit_version"})
    EXPECT_TRUE(metrics.contains(key)) << key;
  EXPECT_EQ(metrics["seed"], 5);
  EXPECT_EQ(metrics["epochs"], 3);
  const double accuracy = metrics["test_accuracy"];
  EXPECT_GT(accuracy, 0.9);

  // eval on best.ckpt reports the same accuracy.
  r = run("eval " + (root_ / "run/checkpoints/best.ckpt").string() + " --data " +
          (root_ / "data").string() + " --json");
  ASSERT_EQ(r.code, 0) << r.output;
  auto report = nlohmann::json::parse(r.output);
  EXPECT_DOUBLE_EQ(report["accuracy"].get<double>(), accuracy);
  EXPECT_EQ(report["confusion_matrix"].size(), 4u);

  // An ensemble of one model with itself gives the same accuracy; TTA runs and reports.
  const std::string best = (root_ / "run/checkpoints/best.ckpt").string();
  r = run("eval " + best + " " + best + " --data " + (root_ / "data").string() + " --json");
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_NEAR(nlohmann::json::parse(r.output)["accuracy"].get<double>(), accuracy, 1e-12);
  r = run("eval " + best + " --tta shift+flip --data " + (root_ / "data").string());
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("test-time augmentation: shift+flip"), std::string::npos) << r.output;

  // predict: a PGM of a clear vertical bar is class 1.
  {
    std::ofstream pgm(root_ / "bar.pgm", std::ios::binary);
    pgm << "P5\n28 28\n255\n";
    for (int y = 0; y < 28; ++y)
      for (int x = 0; x < 28; ++x) pgm.put(char(x >= 13 && x <= 15 ? 230 : 10));
  }
  r = run("predict " + (root_ / "run/checkpoints/best.ckpt").string() + " " +
          (root_ / "bar.pgm").string() + " --json");
  ASSERT_EQ(r.code, 0) << r.output;
  auto predictions = nlohmann::json::parse(r.output);
  EXPECT_EQ(predictions[0]["top"][0]["class"], 1) << r.output;

  // summary reads the checkpoint.
  r = run("summary " + (root_ / "run/checkpoints/best.ckpt").string());
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("Total params"), std::string::npos);
}

TEST_F(CliTest, SameSeedGivesIdenticalHistory) {
  ASSERT_EQ(run(train_args("a") + " --seed 3 --epochs 2").code, 0);
  ASSERT_EQ(run(train_args("b") + " --seed 3 --epochs 2").code, 0);
  const auto a = read_file(root_ / "a/history.csv"), b = read_file(root_ / "b/history.csv");
  EXPECT_FALSE(a.empty());
  EXPECT_EQ(a, b);
}

TEST_F(CliTest, ConfigErrorsExitTwoAndNameTheKey) {
  auto r = run(train_args("bad") + " --set train.epochz=3");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.output.find("train.epochz"), std::string::npos) << r.output;
  r = run(train_args("bad") + " --set train.batch_size=many");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.output.find("train.batch_size"), std::string::npos) << r.output;
  r = run(train_args("bad") + " --set model.layers.0.filterz=3");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.output.find("model.layers[0].filterz"), std::string::npos) << r.output;
  r = run(train_args("bad") + " --set train.optimizer.lr=-1");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.output.find("lr"), std::string::npos) << r.output;
  r = run(train_args("bad") + " --set train.ema_decay=1");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.output.find("train.ema_decay"), std::string::npos) << r.output;
  r = run(train_args("bad") + " --set train.test_tta=rotate");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.output.find("train.test_tta"), std::string::npos) << r.output;
  r = run(train_args("bad") + " --set model.layers.0.l2=-0.1");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.output.find("model.layers[0].l2"), std::string::npos) << r.output;
}

TEST_F(CliTest, BrokenDataExitsThreeAndNamesTheFile) {
  fs::create_directories(root_ / "broken");
  for (const char* f : {"train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
                        "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"})
    fs::copy_file(root_ / "data" / f, root_ / "broken" / f, fs::copy_options::overwrite_existing);
  fs::resize_file(root_ / "broken/t10k-images-idx3-ubyte", 1000);  // truncated
  auto r = run("train -q --config " + (root_ / "tiny.yaml").string() + " --data " +
               (root_ / "broken").string() + " --out " + (root_ / "x").string());
  EXPECT_EQ(r.code, 3) << r.output;
  EXPECT_NE(r.output.find("t10k-images-idx3-ubyte"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("truncated"), std::string::npos) << r.output;
}

TEST_F(CliTest, CorruptCheckpointIsRejected) {
  ASSERT_EQ(run(train_args("c") + " --epochs 1").code, 0);
  const fs::path ckpt = root_ / "c/checkpoints/last.ckpt";
  std::string bytes = read_file(ckpt);
  bytes[bytes.size() / 2] ^= 0x10;
  std::ofstream(root_ / "flipped.ckpt", std::ios::binary) << bytes;
  auto r =
      run("eval " + (root_ / "flipped.ckpt").string() + " --data " + (root_ / "data").string());
  EXPECT_EQ(r.code, 3) << r.output;
  EXPECT_NE(r.output.find("flipped.ckpt"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("checksum"), std::string::npos) << r.output;
}

// All parameters and buffers of a checkpoint, flattened.
TEST_F(CliTest, ResumeAfterSigkillEndsWithTheSameWeights) {
  // 2000 images / batch 40 = 50 steps per epoch, 4 epochs; the crash hits mid-epoch 3.
  const std::string opts = " --seed 4 --epochs 4 --set train.batch_size=40";
  ASSERT_EQ(run(train_args("full") + opts).code, 0);
  auto r = run(train_args("killed") + opts, "CONVKIT_FAULT_AT_STEP=123:9");
  ASSERT_EQ(r.code, 128 + 9) << r.output;  // SIGKILL: no chance to save anything
  ASSERT_TRUE(fs::exists(root_ / "killed/checkpoints/last.ckpt"));  // from the end of epoch 2
  EXPECT_EQ(io::load_checkpoint(root_ / "killed/checkpoints/last.ckpt").contents.epoch, 2);
  r = run("train -q --resume " + (root_ / "killed").string() + " --data " +
          (root_ / "data").string());
  ASSERT_EQ(r.code, 0) << r.output;
  testing::expect_same_end(root_ / "killed", root_ / "full");
}

TEST_F(CliTest, SigintSavesAMidEpochCheckpointAndResumesExactly) {
  const std::string opts = " --seed 6 --epochs 3 --set train.batch_size=40";
  ASSERT_EQ(run(train_args("full2") + opts).code, 0);
  auto r = run(train_args("int") + opts, "CONVKIT_FAULT_AT_STEP=77:2");
  ASSERT_EQ(r.code, 128 + 2) << r.output;  // SIGINT: checkpoint written, clean exit
  EXPECT_NE(r.output.find("--resume"), std::string::npos) << r.output;
  r = run("train -q --resume " + (root_ / "int").string() + " --data " + (root_ / "data").string());
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("batch 27"), std::string::npos)
      << r.output;  // step 77 = epoch 2, batch 27
  testing::expect_same_end(root_ / "int", root_ / "full2");
}

// train.test_tta: the final test accuracy is eval --tta's on best.ckpt, the plain one is kept
// beside it, and both are in metrics.json.
TEST_F(CliTest, TrainReportsTestTimeAugmentationWhenConfigured) {
  auto r = run(train_args("tta") + " --seed 4 --epochs 1 --set train.test_tta=flip");
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("with test-time augmentation flip ("), std::string::npos) << r.output;
  const auto metrics = nlohmann::json::parse(read_file(root_ / "tta/metrics.json"));
  EXPECT_EQ(metrics["test_tta"], "flip");
  const std::string best = (root_ / "tta/checkpoints/best.ckpt").string(),
                    data = (root_ / "data").string();
  r = run("eval " + best + " --tta flip --json --data " + data);
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_NEAR(nlohmann::json::parse(r.output)["accuracy"].get<double>(),
              metrics["test_accuracy"].get<double>(), 1e-12);
  r = run("eval " + best + " --json --data " + data);
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_NEAR(nlohmann::json::parse(r.output)["accuracy"].get<double>(),
              metrics["test_accuracy_without_tta"].get<double>(), 1e-12);
}

std::vector<float> values_of(const Tensor& t) {
  return std::vector<float>(t.data<float>(), t.data<float>() + t.numel());
}

TEST_F(CliTest, WeightAveragingLeavesTheTrajectoryAloneAndResumesExactly) {
  const std::string opts =
      " --seed 8 --epochs 3 --set train.batch_size=40 --set model.layers.0.l2=0.001";
  const std::string ema = " --set train.ema_decay=0.9";
  ASSERT_EQ(run(train_args("plain") + opts).code, 0);
  ASSERT_EQ(run(train_args("ema") + opts + ema).code, 0);
  const auto averaged = io::load_checkpoint(root_ / "ema/checkpoints/last.ckpt");
  ASSERT_TRUE(averaged.contents.training_weights.defined());
  // Averaging never feeds back into training: the raw weights are the plain run's, bit for bit,
  // and the checkpoint's model (what eval uses) is the average, which differs.
  EXPECT_EQ(values_of(averaged.contents.training_weights),
            weights_of(root_ / "plain/checkpoints/last.ckpt"));
  EXPECT_NE(weights_of(root_ / "ema/checkpoints/last.ckpt"),
            weights_of(root_ / "plain/checkpoints/last.ckpt"));
  EXPECT_FALSE(io::load_checkpoint(root_ / "plain/checkpoints/last.ckpt")
                   .contents.training_weights.defined());

  auto r = run(train_args("ema_int") + opts + ema, "CONVKIT_FAULT_AT_STEP=77:2");
  ASSERT_EQ(r.code, 128 + 2) << r.output;
  r = run("train -q --resume " + (root_ / "ema_int").string() + " --data " +
          (root_ / "data").string());
  ASSERT_EQ(r.code, 0) << r.output;
  const auto resumed = io::load_checkpoint(root_ / "ema_int/checkpoints/last.ckpt");
  EXPECT_EQ(weights_of(root_ / "ema_int/checkpoints/last.ckpt"),
            weights_of(root_ / "ema/checkpoints/last.ckpt"));
  EXPECT_EQ(values_of(resumed.contents.training_weights),
            values_of(averaged.contents.training_weights));
  EXPECT_EQ(read_file(root_ / "ema_int/history.csv"), read_file(root_ / "ema/history.csv"));
}

TEST_F(CliTest, DivergenceStopsWithAClearMessageAndKeepsTheLastGoodCheckpoint) {
  // Epoch 1 at a sane rate, then an absurd one: the loss overflows in epoch 2.
  auto r = run(train_args("nan") +
               " --epochs 3 --set train.optimizer.type=sgd --set train.optimizer.lr=0.05" +
               " --set train.schedule.type=multi_step --set train.schedule.milestones=[1]" +
               " --set train.schedule.gamma=1e30");
  EXPECT_EQ(r.code, 1) << r.output;
  EXPECT_NE(r.output.find("diverged"), std::string::npos) << r.output;
  EXPECT_EQ(io::load_checkpoint(root_ / "nan/checkpoints/last.ckpt").contents.epoch, 1);
  for (float w : weights_of(root_ / "nan/checkpoints/last.ckpt")) ASSERT_TRUE(std::isfinite(w));
}

TEST_F(CliTest, AugmentationAndMixupTrainAndPreview) {
  const std::string augment =
      " --set 'dataset.augment={rotation: 10, zoom: 0.1, elastic: {alpha: 20, sigma: 4}, mixup: "
      "0.2}'";
  auto r = run(train_args("aug") + " --epochs 2" + augment);
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_GT(
      nlohmann::json::parse(read_file(root_ / "aug/metrics.json"))["test_accuracy"].get<double>(),
      0.5);
  r = run("augment-preview --config " + (root_ / "tiny.yaml").string() + " --data " +
          (root_ / "data").string() + " --out " + (root_ / "grid.png").string() + augment);
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_EQ(read_file(root_ / "grid.png").substr(1, 3), "PNG");
  r = run(train_args("aug_bad") + " --set 'dataset.augment={zoom: -0.5}'");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.output.find("dataset.augment.zoom"), std::string::npos) << r.output;
}

TEST_F(CliTest, InvalidCallbackSettingsFailAtConfigLoad) {
  auto r = run(train_args("cb") + " --set train.callbacks.early_stopping.patience=-2");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.output.find("early_stopping.patience"), std::string::npos) << r.output;
  r = run(train_args("cb") + " --set train.callbacks.reduce_lr_on_plateau.monitor=val_loss");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.output.find("validation_split"), std::string::npos) << r.output;
  r = run(train_args("cb") + " --set train.schedule.type=warp");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.output.find("schedule.type"), std::string::npos) << r.output;
}

TEST_F(CliTest, EarlyStoppingStopsAndRestoresTheBestWeights) {
  auto r = run(train_args("es") + " --epochs 30 --set dataset.validation_split=0.2" +
               " --set train.callbacks.early_stopping.patience=1 --set "
               "train.callbacks.early_stopping.monitor=val_loss" +
               " --set train.callbacks.early_stopping.min_delta=0.05");
  ASSERT_EQ(r.code, 0) << r.output;
  auto metrics = nlohmann::json::parse(read_file(root_ / "es/metrics.json"));
  EXPECT_TRUE(metrics["stopped_early"].get<bool>());
  EXPECT_LT(metrics["epochs"].get<int>(), 30);
}

}  // namespace
}  // namespace convkit
