// Finding a dataset's files on disk, or downloading them into the cache, and loading it.
// Search order for dataset <name>:
//   1. ResolveOptions::data_dir (the CLI's --data DIR): DIR/<name>, else DIR itself. Given
//      explicitly, it is the only place looked at; it is never written to.
//   2. $CONVKIT_DATA/<name>; never written to.
//   3. the cache, $XDG_CACHE_HOME/convkit/datasets/<name> (default ~/.cache/convkit/...).
//   4. a download into the cache from the mirrors (each file checked for size and SHA-256,
//      written to a temporary file, fsynced, then renamed into place).
// A file may be kept as .gz (checked against the registry's size and SHA-256) or uncompressed
// (no checksum; its IDX structure is still validated when read). A corrupt file in a user
// directory is an Error naming it and the mismatch; a corrupt file in the cache is downloaded
// again when downloads are allowed.
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

// The directory holding all four files of the dataset; throws Error explaining where the files
// may be put and where to fetch them when they cannot be found or downloaded.
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

// Resolves and reads the dataset; name, class names and num_classes come from the registry, and
// the image shape and sample counts are checked against it.
DatasetSplits load_dataset(std::string_view name, const ResolveOptions& options = {});
DatasetSplits load_dataset(const DatasetInfo& info, const ResolveOptions& options = {});

// Lowercase hex SHA-256 of a file's bytes.
std::string sha256_file(const std::filesystem::path& path);

}  // namespace convkit::data
