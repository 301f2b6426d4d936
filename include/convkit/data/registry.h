// The datasets convkit knows by name (mnist, fashion-mnist, kmnist): their files with sizes and
// SHA-256 checksums, download mirrors, image shape, class names and normalization statistics.
// One table, in src/data/registry.cpp.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace convkit::data {

// One published file, as distributed (gzip-compressed IDX).
struct DatasetFile {
  std::string name;    // "train-images-idx3-ubyte.gz"
  std::int64_t bytes;  // size of the .gz file
  std::string sha256;  // lowercase hex SHA-256 of the .gz file

  // The name of the uncompressed copy a user may keep instead ("train-images-idx3-ubyte").
  std::string raw_name() const;
};

// Indices into DatasetInfo::files.
enum FileRole : int { kTrainImages = 0, kTrainLabels = 1, kTestImages = 2, kTestLabels = 3 };

struct DatasetInfo {
  std::string name;  // the registry key: "mnist"
  std::string description;
  std::array<DatasetFile, 4> files;  // indexed by FileRole
  std::vector<std::string> mirrors;  // base URLs ending in '/'; a file's URL is mirror + name
  std::int64_t channels = 1, height = 28, width = 28;
  std::int64_t train_size = 0, test_size = 0;
  std::vector<std::string> class_names;  // one per class
  // Mean and std of the training pixels on [0, 1]; absent where not verified (compute them with
  // channel_stats from dataset.h).
  std::optional<float> mean, std;

  int num_classes() const { return static_cast<int>(class_names.size()); }
};

// The registry entry for `name`; an unknown name is an Error listing the known ones.
const DatasetInfo& dataset_info(std::string_view name);
// Every known dataset, in table order.
std::span<const DatasetInfo> known_datasets();

}  // namespace convkit::data
