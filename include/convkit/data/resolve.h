// Finding a dataset's files on disk, or downloading them into the cache, and loading it.
// Search order for dataset <name> (<folder>: DatasetInfo::folder_name(), usually <name>):
//   1. ResolveOptions::data_dir (the CLI's --data DIR): DIR/<folder>, else DIR itself. Given
//      explicitly, it is the only place looked at; it is never written to.
//   2. $CONVKIT_DATA/<folder>; for an archive dataset also its archive or extracted folder in
//      $CONVKIT_DATA itself. Never written to.
//   3. the cache, $XDG_CACHE_HOME/convkit/datasets/<folder> (default ~/.cache/convkit/...).
//   4. a download into the cache from the mirrors (each file checked for size and SHA-256,
//      written to a temporary file, fsynced, then renamed into place).
// IDX datasets: a file may be kept as .gz (checked against the registry's size and SHA-256) or
// uncompressed (no checksum; its IDX structure is still validated when read).
// Archive datasets (CIFAR): a place may hold the archive as published (cifar-10-binary.tar.gz,
// checked), decompressed (.tar, not checked), the folder it extracts to (cifar-10-batches-bin/),
// or, except in $CONVKIT_DATA itself, that folder's batch files directly. Extracted files are
// checked by their sizes and contents when read (read_cifar, cifar.h).
// A corrupt file in a user directory is an Error naming it and the mismatch; a corrupt file in
// the cache is downloaded again when downloads are allowed.
#pragma once

#include <convkit/data/dataset.h>
#include <convkit/data/registry.h>

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace convkit::data {

struct ResolveOptions {
  std::optional<std::filesystem::path> data_dir;  // --data DIR
  bool allow_download = true;
  // Base URLs (ending in '/') replacing the registry's mirrors, e.g. "file:///srv/mnist/".
  std::vector<std::string> mirrors;
  long connect_timeout_s = 20;  // per mirror
  long stall_timeout_s = 30;    // give up on a mirror after this long below 1 KiB/s
};

// IDX datasets: the directory holding all four files. Archive datasets: the archive file, or the
// folder holding the extracted batch files. Throws Error explaining where the files may be put
// and where to fetch them when they cannot be found or downloaded.
std::filesystem::path resolve_dataset(std::string_view name, const ResolveOptions& options = {});
// The same for a dataset described by the caller (not necessarily in the registry).
std::filesystem::path resolve_dataset(const DatasetInfo& info, const ResolveOptions& options = {});

// Where the cache keeps dataset <name> ($XDG_CACHE_HOME or ~/.cache, then convkit/datasets);
// nullopt when neither variable is set.
std::optional<std::filesystem::path> dataset_cache_dir(std::string_view name);

struct DatasetSplits {
  Dataset train;
  Dataset test;
};

// Resolves and reads the dataset (read_idx or read_cifar by DatasetInfo::format); name, class
// names and num_classes come from the registry, and the image shape and sample counts are
// checked against it.
DatasetSplits load_dataset(std::string_view name, const ResolveOptions& options = {});
DatasetSplits load_dataset(const DatasetInfo& info, const ResolveOptions& options = {});

// Lowercase hex SHA-256 of a file's bytes.
std::string sha256_file(const std::filesystem::path& path);

}  // namespace convkit::data
