// The run directory: the one writer and reader of what `convkit train` (run::train) leaves.
//
//   RUN_DIR/config.yaml            the resolved config
//   RUN_DIR/history.csv            one row per epoch (train::History::to_csv)
//   RUN_DIR/metrics.json           final test metrics, timings, parameters, seed, version
//   RUN_DIR/checkpoints/last.ckpt  the latest state (resume)
//   RUN_DIR/checkpoints/best.ckpt  the best epoch by the checkpoint monitor (eval, predict)
//   RUN_DIR/report.html            the HTML report
//   RUN_DIR/status.json            {"status": running | finished | interrupted | failed, "error"}
//   RUN_DIR/events.out.tfevents.*  TensorBoard
//
// Every checkpoint carries a RunInfo record (its "extra" JSON) so that a checkpoint alone is
// enough to evaluate or predict as training did: the dataset and where its files were, the
// normalization, the class names and the resolved config.
#pragma once

#include <convkit/io/checkpoint.h>
#include <convkit/train/predictor.h>
#include <convkit/train/preprocess.h>

#include <filesystem>
#include <string>
#include <vector>

namespace convkit::run {

// The file names of a run directory.
struct RunDirectory {
  std::filesystem::path root;

  std::filesystem::path config() const { return root / "config.yaml"; }
  std::filesystem::path history() const { return root / "history.csv"; }
  std::filesystem::path metrics() const { return root / "metrics.json"; }
  std::filesystem::path checkpoints() const { return root / "checkpoints"; }
  std::filesystem::path best_checkpoint() const { return checkpoints() / "best.ckpt"; }
  std::filesystem::path last_checkpoint() const { return checkpoints() / "last.ckpt"; }
  std::filesystem::path report() const { return root / "report.html"; }
  std::filesystem::path status() const {
    return root / "status.json";
  }  // running/finished/interrupted/failed
};

// Writes `text` to `path` atomically (temp file in the same directory, fsync, rename).
void write_text_atomic(const std::filesystem::path& path, const std::string& text);
// The whole file; DataError naming the path when it cannot be read.
std::string read_text(const std::filesystem::path& path);

// How a checkpoint's inputs were prepared and where its data came from.
struct RunInfo {
  std::string dataset;
  std::string data_dir;  // the --data folder training read (absolute), empty: the default lookup
  train::Preprocess preprocess;
  std::vector<std::string> class_names;
  std::string config_yaml;
};

std::string run_info_to_json(const RunInfo& info);
RunInfo run_info_from_json(const std::string& json, const std::string& source);

// A checkpoint file as given, or RUN_DIR/checkpoints/best.ckpt for a run directory (DataError
// when neither exists).
std::filesystem::path resolve_checkpoint(const std::filesystem::path& checkpoint_or_run_dir);

// A checkpoint (file or run directory) with its RunInfo; every problem is a DataError.
struct OpenedCheckpoint {
  std::filesystem::path path;  // the checkpoint file
  io::LoadedCheckpoint checkpoint;
  RunInfo info;
};
OpenedCheckpoint open_checkpoint(const std::filesystem::path& checkpoint_or_run_dir);

// A Predictor over a checkpoint's (or a run's best) model with its preprocessing and class names.
train::Predictor open_predictor(const std::filesystem::path& checkpoint_or_run_dir,
                                const train::PredictorOptions& options = {});

}  // namespace convkit::run
