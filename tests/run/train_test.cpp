// run::train and the run directory it leaves: every file written and readable by its one
// reader, metrics equal to a fresh evaluation of best.ckpt, resume from last.ckpt, and
// run::evaluate / open_predictor / write_run_report reading the run back.
#include "run/run_test_util.h"

#include <convkit/run/errors.h>
#include <convkit/run/evaluate.h>
#include <convkit/run/report.h>
#include <convkit/run/run_dir.h>
#include <convkit/run/train.h>

#include <convkit/io/checkpoint.h>

#include <nlohmann/json.hpp>

namespace convkit::run {
namespace {

using testing::TempDir;
namespace fs = std::filesystem;

TEST(RunTrain, WritesTheRunDirectoryAndItsMetricsMatchAFreshEvaluation) {
  TempDir tmp;
  const RunConfig config = parse_run_config(testing::kBarsConfig, "test config");
  const LoadedData data = testing::bars_data();
  const RunResult r = train(config, {.out = tmp.path / "run",
                                     .data = data,
                                     .show_summary = false,
                                     .progress = false,
                                     .verbose = false});
  EXPECT_FALSE(r.interrupted);
  EXPECT_EQ(r.epoch, 3);
  EXPECT_EQ(r.history.epochs.size(), 3u);
  EXPECT_GT(r.test.accuracy, 0.8);
  const RunDirectory dir{r.dir};
  for (const auto& f : {dir.config(), dir.history(), dir.metrics(), dir.best_checkpoint(),
                        dir.last_checkpoint(), dir.report()})
    EXPECT_TRUE(fs::is_regular_file(f)) << f;
  const auto metrics = nlohmann::json::parse(read_text(dir.metrics()));
  EXPECT_DOUBLE_EQ(metrics["test_accuracy"].get<double>(), r.test.accuracy);
  EXPECT_EQ(metrics["dataset"], "bars");
  // config.yaml is the resolved config: parsing it gives the same model and schedule.
  const RunConfig again = load_run_directory_config(r.dir);
  EXPECT_EQ(again.epochs, 3);
  EXPECT_EQ(again.build_model().summary(), config.build_model().summary());
  // The checkpoint's record: preprocessing and class names as trained.
  const OpenedCheckpoint best = open_checkpoint(r.dir);
  EXPECT_EQ(best.path, dir.best_checkpoint());
  EXPECT_EQ(best.info.preprocess.mean, data.preprocess.mean);
  EXPECT_EQ(best.info.class_names, data.class_names);
  // A Predictor opened from the run directory reproduces the reported test metrics exactly.
  train::Predictor predictor = open_predictor(r.dir);
  const auto report = predictor.evaluate(data.test);
  EXPECT_DOUBLE_EQ(report.accuracy, r.test.accuracy);
  EXPECT_NEAR(report.loss, r.test.loss, 1e-6);
}

TEST(RunTrain, ResumeContinuesToTheSameWeightsAsOneRun) {
  TempDir tmp;
  const LoadedData data = testing::bars_data();
  const TrainOptions quiet{.data = data,
                           .show_summary = false,
                           .progress = false,
                           .verbose = false,
                           .write_report = false};
  TrainOptions whole = quiet, first = quiet, rest = quiet;
  whole.out = tmp.path / "whole";
  first.out = rest.out = tmp.path / "resumed";
  rest.resume = true;
  train(parse_run_config(testing::kBarsConfig, "test config"), whole);
  train(parse_run_config(testing::kBarsConfig, "test config", {"train.epochs=2"}), first);
  const RunResult resumed = train(load_run_directory_config(first.out, {"train.epochs=3"}), rest);
  EXPECT_EQ(resumed.epoch, 3);
  const nn::Model a = io::load_checkpoint(RunDirectory{whole.out}.last_checkpoint()).model;
  const nn::Model b = io::load_checkpoint(RunDirectory{rest.out}.last_checkpoint()).model;
  for (const auto& name : a.parameter_names())
    EXPECT_EQ(max_abs_diff(a.parameter(name), b.parameter(name)), 0.0f) << name;
}

TEST(RunTrain, ResumeWithoutACheckpointIsADataErrorNamingIt) {
  TempDir tmp;
  try {
    train(parse_run_config(testing::kBarsConfig, "test config"),
          {.out = tmp.path, .resume = true, .data = testing::bars_data(), .verbose = false});
    FAIL() << "no error";
  } catch (const DataError& e) {
    EXPECT_NE(std::string(e.what()).find("last.ckpt"), std::string::npos) << e.what();
  }
}

TEST(RunEvaluate, AnEnsembleOfOneRunTwiceEqualsTheRunAndMismatchesAreNamed) {
  TempDir tmp;
  // A registry-free dataset for evaluate(): the run records dataset "idx" and its folder.
  const LoadedData data = testing::bars_data();
  const fs::path idx = tmp.path / "idx";
  fs::create_directories(idx);
  data::write_idx(data.train, idx / "train-images-idx3-ubyte", idx / "train-labels-idx1-ubyte");
  data::write_idx(data.test, idx / "t10k-images-idx3-ubyte", idx / "t10k-labels-idx1-ubyte");
  const RunResult r =
      train(parse_run_config(testing::kBarsConfig, "test config", {"dataset.name=idx"}),
            {.out = tmp.path / "run",
             .data_dir = idx.string(),
             .show_summary = false,
             .progress = false,
             .verbose = false,
             .write_report = false});
  EXPECT_EQ(open_checkpoint(r.dir).info.data_dir, fs::absolute(idx).lexically_normal().string());
  // No data_dir given: the folder the run recorded is used.
  const Evaluation single = evaluate({r.dir});
  EXPECT_DOUBLE_EQ(single.report.accuracy, r.test.accuracy);
  const Evaluation twice =
      evaluate({r.dir, RunDirectory{r.dir}.best_checkpoint()}, {.tta = "none"});
  EXPECT_DOUBLE_EQ(twice.report.accuracy, r.test.accuracy);
  const Evaluation shifted = evaluate({r.dir}, {.tta = "shift"});
  EXPECT_EQ(shifted.report.samples, 128);
  EXPECT_THROW(evaluate({tmp.path / "missing"}), DataError);
  EXPECT_THROW(evaluate({r.dir}, {.split = "validation"}), ConfigError);
  // The report of the finished run, reopened from the directory alone.
  EXPECT_EQ(write_run_report(r.dir), RunDirectory{r.dir}.report());
  EXPECT_TRUE(fs::is_regular_file(RunDirectory{r.dir}.report()));
}

}  // namespace
}  // namespace convkit::run
