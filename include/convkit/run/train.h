// run::train: a whole training run as one library call — what `convkit train` does, for any
// program (the tuner, tests, users' code). It loads the dataset named by the config (or takes
// the data it is given), builds and initializes the model, trains with the config's optimizer,
// schedule, callbacks and augmentation, and writes the run directory (run_dir.h): config.yaml,
// history.csv, checkpoints, TensorBoard events, metrics.json and report.html. A run stopped by
// SIGINT/SIGTERM saves last.ckpt; TrainOptions::resume continues it exactly.
//
//   run::RunConfig config = run::load_run_config("examples/mnist_cnn.yaml", {"train.epochs=3"});
//   run::RunResult result = run::train(config, {.out = "runs/cnn"});
//   fmt::print("{:.2f}%\n", 100 * result.test.accuracy);
#pragma once

#include <convkit/run/config.h>
#include <convkit/run/datasets.h>
#include <convkit/train/metrics.h>
#include <convkit/train/trainer.h>

#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace convkit::run {

struct TrainOptions {
  std::filesystem::path out;  // the run directory (default runs/<dataset>-<date>-<time>)
  // Continue the run in `out` from its last.ckpt (the config must be that run's: see
  // load_run_directory_config). Data come from `data_dir`, else the folder the run recorded.
  bool resume = false;
  std::string data_dir;  // the dataset's files (--data); empty: the default lookup
  // A new run refuses an `out` that exists and is not empty (two runs' files would mix) unless
  // overwrite is set: then the old run's files are removed first.
  bool overwrite = false;
  std::optional<LoadedData> data;  // given data: used instead of loading config.dataset
  bool show_summary = true;        // print the model's layer table first
  bool progress = true;            // progress bar / per-epoch lines
  bool verbose = true;             // status lines (what is trained, resuming, the result)
  bool write_report = true;        // report.html at the end
  // Called after every epoch, once last.ckpt holds it; returning false ends training there
  // (RunResult::stopped): the tuner's pruning and its successive-halving rungs.
  std::function<bool(const train::EpochLog&)> on_epoch_end;
  // The test pass of best.ckpt (RunResult::test, metrics.json's test figures, the report); a
  // tuner whose objective is a validation figure leaves it out.
  bool evaluate_test = true;
};

struct RunResult {
  std::filesystem::path dir;  // the run directory
  bool interrupted = false;   // stopped by a signal: last.ckpt saved, resume to continue
  bool stopped = false;       // TrainOptions::on_epoch_end ended it
  int signal = 0;
  int rank = 0;   // in a data-parallel job: this process's rank (only rank 0 fills what follows)
  int ranks = 1;  // the job's number of ranks
  int epoch = 0;  // completed epochs
  std::int64_t step = 0;  // completed optimizer steps
  train::History history;
  int best_epoch = 0;                // the epoch best.ckpt holds
  train::ClassificationReport test;  // best.ckpt on the test set (with test_tta when set)
  double test_accuracy_without_tta = 0;
  double train_seconds = 0;
};

// Before training, mistakes a config can only show against its data are ConfigErrors naming the
// key: model.input against the images, the model's outputs against the classes, train.batch_size
// against the training set. While training, RUN_DIR/status.json says "running"; then "finished",
// "interrupted" or "failed" (with the error), so a directory tells what became of its run.
RunResult train(const RunConfig& config, const TrainOptions& options = {});

// The config of an existing run directory (RUN_DIR/config.yaml) with `sets` applied; for resume.
RunConfig load_run_directory_config(const std::filesystem::path& run_dir,
                                    const std::vector<std::string>& sets = {});

}  // namespace convkit::run
