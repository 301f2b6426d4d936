// What run::train refuses before training (ConfigErrors naming the key: input shape, output
// units, batch size; a non-empty --out; another model's checkpoint on resume), what it records
// in status.json, and the divergence rule.
#include "run/run_test_util.h"

#include <convkit/io/checkpoint.h>
#include <convkit/run/errors.h>
#include <convkit/run/run_dir.h>
#include <convkit/run/train.h>

#include <nlohmann/json.hpp>

namespace convkit::run {
namespace {

using testing::TempDir;
namespace fs = std::filesystem;

TrainOptions quiet(const fs::path& out) {
  return {.out = out,
          .data = testing::bars_data(),
          .show_summary = false,
          .progress = false,
          .verbose = false,
          .write_report = false};
}

std::string config_error_of(const std::vector<std::string>& sets, const TrainOptions& options) {
  try {
    train(parse_run_config(testing::kBarsConfig, "cfg.yaml", sets), options);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

TEST(RunTrainChecks, ConfigsThatDoNotFitTheDataFailBeforeTrainingNamingTheKey) {
  TempDir tmp;
  EXPECT_NE(config_error_of({"model.input=[3, 12, 12]"}, quiet(tmp.path / "a"))
                .find("'model.input' is [3, 12, 12]"),
            std::string::npos);
  EXPECT_NE(
      config_error_of({"model.layers.3.units=5"}, quiet(tmp.path / "b")).find("has 4 classes"),
      std::string::npos);
  EXPECT_NE(config_error_of({"train.batch_size=1000"}, quiet(tmp.path / "c"))
                .find("'train.batch_size' is 1000"),
            std::string::npos);
  EXPECT_FALSE(fs::exists(tmp.path / "a"));  // nothing written for a run that never started
}

TEST(RunTrainChecks, ANonEmptyOutIsRefusedUnlessOverwritten) {
  TempDir tmp;
  fs::create_directories(tmp.path / "run");
  std::ofstream(tmp.path / "run" / "notes.txt") << "keep me";
  EXPECT_NE(config_error_of({"train.epochs=1"}, quiet(tmp.path / "run")).find("not empty"),
            std::string::npos);
  EXPECT_TRUE(fs::exists(tmp.path / "run" / "notes.txt"));
  TrainOptions over = quiet(tmp.path / "run");
  over.overwrite = true;
  train(parse_run_config(testing::kBarsConfig, "cfg.yaml", {"train.epochs=1"}), over);
  EXPECT_FALSE(fs::exists(tmp.path / "run" / "notes.txt"));
  EXPECT_EQ(nlohmann::json::parse(read_text(RunDirectory{tmp.path / "run"}.status()))["status"],
            "finished");
}

TEST(RunTrainChecks, ResumeRefusesAnotherModelsCheckpoint) {
  TempDir tmp;
  train(parse_run_config(testing::kBarsConfig, "cfg.yaml", {"train.epochs=1"}),
        quiet(tmp.path / "a"));
  train(parse_run_config(testing::kBarsConfig, "cfg.yaml",
                         {"train.epochs=1", "model.layers.0.filters=6"}),
        quiet(tmp.path / "b"));
  fs::copy_file(RunDirectory{tmp.path / "b"}.last_checkpoint(),
                RunDirectory{tmp.path / "a"}.last_checkpoint(),
                fs::copy_options::overwrite_existing);
  TrainOptions resume = quiet(tmp.path / "a");
  resume.resume = true;
  try {
    train(load_run_directory_config(tmp.path / "a", {"train.epochs=2"}), resume);
    FAIL() << "no error";
  } catch (const DataError& e) {
    EXPECT_NE(std::string(e.what()).find("another model"), std::string::npos) << e.what();
  }
}

TEST(RunTrainChecks, ADivergedRunStopsSaysSoInItsDirectoryAndKeepsTheLastGoodCheckpoint) {
  TempDir tmp;
  const fs::path dir = tmp.path / "run";
  // SGD: a learning rate of 1e7 explodes it at once (Adam's normalized steps can survive one).
  train(parse_run_config(testing::kBarsConfig, "cfg.yaml",
                         {"train.epochs=1", "train.optimizer={type: sgd, lr: 0.01}"}),
        quiet(dir));
  const nn::Model good = io::load_checkpoint(RunDirectory{dir}.last_checkpoint()).model;
  TrainOptions resume = quiet(dir);
  resume.resume = true;
  try {
    train(load_run_directory_config(dir, {"train.epochs=3", "train.optimizer.lr=1e7"}), resume);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("diverged"), std::string::npos) << e.what();
  }
  const auto status = nlohmann::json::parse(read_text(RunDirectory{dir}.status()));
  EXPECT_EQ(status["status"], "failed");
  EXPECT_NE(status["error"].get<std::string>().find("diverged"), std::string::npos);
  const nn::Model kept = io::load_checkpoint(RunDirectory{dir}.last_checkpoint()).model;
  for (const auto& name : good.parameter_names())
    EXPECT_EQ(max_abs_diff(good.parameter(name), kept.parameter(name)), 0.0f) << name;
}

TEST(DivergenceCheck, NotFiniteOrAHundredTimesTheFirstLoss) {
  train::DivergenceCheck check;
  EXPECT_FALSE(check.diverged(2.3));
  EXPECT_FALSE(check.diverged(200.0));
  EXPECT_TRUE(check.diverged(231.0));
  train::DivergenceCheck small;
  EXPECT_FALSE(small.diverged(0.01));
  EXPECT_FALSE(small.diverged(99.0));  // the bound is 100 x max(1, first loss)
  EXPECT_TRUE(small.diverged(101.0));
  train::DivergenceCheck nan;
  EXPECT_TRUE(nan.diverged(std::nan("")));
}

}  // namespace
}  // namespace convkit::run
