// Loading a run's data (the dataset by name): a registry dataset by name (mnist, fashion-mnist,
// kmnist, cifar10, ...), "idx": the four IDX files of the user's own dataset in --data DIR,
// "folder": image files in class folders, "csv": `path,label` lists. Optional subsampling for
// quick experiments, the validation and test parts the data defines, and the normalization that
// goes with the data. Image files are not decoded up front: the training part streams from disk
// through the loader (train_stream); the validation and test parts are decoded once, at the
// model's input size.
#pragma once

#include <convkit/data/dataset.h>
#include <convkit/data/source.h>
#include <convkit/run/config.h>
#include <convkit/run/run_dir.h>
#include <convkit/train/preprocess.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace convkit::run {

struct LoadedData {
  data::Dataset train, test;  // in memory; train is empty when train_stream is set
  // The training samples read while training (image files, or in-memory images resized to the
  // model's input: dataset.resize); null when `train` holds them.
  std::shared_ptr<const data::Source> train_stream;
  data::Geometry geometry;  // how train_stream's images become samples (when it is set)
  // The validation part when the data gives it (a val/ folder, a CSV list, or a split of a
  // streamed training part); otherwise run::train splits `train` by dataset.validation_split.
  std::optional<data::Dataset> validation;
  std::vector<std::string> class_names;
  train::Preprocess preprocess;      // from the registry, or measured on the training images
  std::vector<std::string> skipped;  // image files left out ("path: why"), dataset.on_error: skip

  std::int64_t train_size() const { return train_stream ? train_stream->size() : train.size(); }
  // The training part in memory (decoded now when it streams; no random crops).
  const data::Dataset& train_in_memory();
};

struct DataRequest {
  std::string name = "mnist";
  std::string data_dir;  // --data DIR
  std::int64_t train_samples = 0, test_samples = 0;
  std::int64_t per_class = 0;  // > 0: a seeded subset of the training part, this many per class
  std::uint64_t seed = 0;
  double validation_split = 0;  // applied here to streamed training parts only
  ImageDataConfig images;       // image files: where, sizes, workers, on_error
  bool measure_stats = true;    // measure the normalization when the registry has none
};

// What `cfg` asks for, reading from `data_dir` (--data, or the one a run recorded).
DataRequest data_request(const RunConfig& cfg, const std::string& data_dir);

// Throws DataError (exit code 3) on any problem with the files, ConfigError (2) when the
// request itself cannot work (no folder given, no test part).
LoadedData load_data(const DataRequest& request);
LoadedData load_data(const std::string& name, const std::string& data_dir,
                     std::int64_t train_samples = 0, std::int64_t test_samples = 0,
                     std::uint64_t seed = 0);

// The data a finished run was trained and tested on (eval, report): its stored config decides
// (the same subsets, image sizes and test part), read from `data_dir` or, when empty, from the
// folder the run recorded. A run without a stored config gets the dataset by name.
LoadedData load_data_of_run(const RunInfo& info, const std::string& data_dir);

}  // namespace convkit::run
