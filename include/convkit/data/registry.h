// The datasets convkit knows by name (mnist, fashion-mnist, kmnist, cifar10, cifar100,
// cifar100-coarse): their published files with sizes and SHA-256 checksums, download mirrors,
// image shape, class names and normalization statistics. One table, in src/data/registry.cpp.
// A dataset is published either as four gzip IDX files (the MNIST family) or as one archive
// (CIFAR's .tar.gz, read by cifar.h); `format` says which.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace convkit::data {

// One published file, as distributed (gzip-compressed IDX, or a .tar.gz archive).
struct DatasetFile {
  std::string name;        // "train-images-idx3-ubyte.gz", "cifar-10-binary.tar.gz"
  std::int64_t bytes = 0;  // size of the .gz file
  std::string sha256;      // lowercase hex SHA-256 of the .gz file

  // The name of the uncompressed copy a user may keep instead ("train-images-idx3-ubyte",
  // "cifar-10-binary.tar").
  std::string raw_name() const;
};

// Indices into DatasetInfo::files.
enum FileRole : int { kTrainImages = 0, kTrainLabels = 1, kTestImages = 2, kTestLabels = 3 };

// How a dataset is published and read.
enum class DatasetFormat {
  idx4,                    // `files`: four gzip IDX files (read_idx, dataset.h)
  cifar10_binary,          // `archive`: cifar-10-binary.tar.gz (read_cifar, cifar.h)
  cifar100_binary,         // `archive`: cifar-100-binary.tar.gz, fine labels (100 classes)
  cifar100_coarse_binary,  // the same archive, coarse labels (20 superclasses)
};

struct DatasetInfo {
  std::string name;  // the registry key: "mnist"
  std::string description;
  DatasetFormat format = DatasetFormat::idx4;
  std::array<DatasetFile, 4> files;  // idx4: indexed by FileRole; unused by archive formats
  DatasetFile archive;               // archive formats: the one published file; unused by idx4
  // The folder name under --data DIR, $CONVKIT_DATA and the cache; empty: `name`. Entries that
  // read the same files share it (cifar100-coarse uses cifar100's).
  std::string folder;
  std::vector<std::string> mirrors;  // base URLs ending in '/'; a file's URL is mirror + name
  std::int64_t channels = 1, height = 28, width = 28;
  std::int64_t train_size = 0, test_size = 0;
  std::vector<std::string> class_names;  // one per class
  // Mean and std of the training pixels on [0, 1], for one-channel datasets; absent where not
  // verified and for color datasets (compute them per channel with channel_stats, dataset.h).
  std::optional<float> mean, std;

  int num_classes() const { return static_cast<int>(class_names.size()); }
  bool is_archive() const { return format != DatasetFormat::idx4; }
  const std::string& folder_name() const { return folder.empty() ? name : folder; }
  // What is downloaded: the four IDX files, or the archive.
  std::span<const DatasetFile> published() const;
};

// The registry entry for `name`; an unknown name is an Error listing the known ones.
const DatasetInfo& dataset_info(std::string_view name);
// Every known dataset, in table order.
std::span<const DatasetInfo> known_datasets();

}  // namespace convkit::data
