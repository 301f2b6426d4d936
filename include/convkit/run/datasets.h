// Loading a run's data (the dataset by name): a registry dataset by name (mnist, fashion-mnist,
// kmnist), or "idx": the four IDX files (train-images-idx3-ubyte[.gz], ...) of the user's own
// dataset in --data DIR. Optional subsampling for quick experiments, and the normalization that
// goes with the data.
#pragma once

#include <convkit/data/dataset.h>
#include <convkit/train/preprocess.h>

#include <optional>
#include <string>
#include <vector>

namespace convkit::run {

struct LoadedData {
  data::Dataset train, test;
  std::vector<std::string> class_names;
  train::Preprocess preprocess;  // from the registry, or measured on the training images
};

// Throws DataError (exit code 3) on any problem with the files.
LoadedData load_data(const std::string& name, const std::string& data_dir,
                     std::int64_t train_samples = 0, std::int64_t test_samples = 0,
                     std::uint64_t seed = 0);

}  // namespace convkit::run
