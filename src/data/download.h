// Internal: fetching one dataset file from a list of mirrors with libcurl, checked against its
// expected size and SHA-256 and moved into place atomically. Used by resolve.cpp.
#pragma once

#include <convkit/data/registry.h>

#include <filesystem>
#include <string>
#include <vector>

namespace convkit::data::detail {

struct DownloadOptions {
  long connect_timeout_s = 20;
  long stall_timeout_s = 30;
  bool progress = false;  // a progress line on stderr
};

// Tries each mirror in turn (URL = mirror + file.name) until one delivers exactly the expected
// bytes, which end up in dest_dir / file.name (via a temporary file in dest_dir, fsync and
// rename, so a reader never sees a partial file). Returns an empty list on success, otherwise
// one "URL: reason" line per mirror; a failed attempt leaves no file behind.
std::vector<std::string> download_file(const DatasetFile& file,
                                       const std::vector<std::string>& mirrors,
                                       const std::filesystem::path& dest_dir,
                                       const DownloadOptions& options);

// The URL of `file` on `mirror` (a '/' is inserted when the mirror lacks one).
std::string file_url(const std::string& mirror, const DatasetFile& file);

}  // namespace convkit::data::detail
