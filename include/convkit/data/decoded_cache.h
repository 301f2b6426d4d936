// The decoded cache: every sample of a source brought to its training size once (Geometry's
// deterministic policy) and kept in one file of u8 [N, C, H, W], memory-mapped, so later epochs
// and later runs read it as fast as IDX. The file starts with a 64-byte header (magic
// "convkit-decoded-cache-1", N, C, H, W and a key); it is written to a temporary name and renamed
// when complete, so a cache file is whole or absent. The key (FNV-1a over the geometry and every
// sample's name, label, size and modification time, when the source's samples are files) decides
// whether an existing file is still valid; a stale or damaged one is rebuilt.
#pragma once

#include <convkit/data/source.h>

#include <filesystem>
#include <optional>

namespace convkit::data {

struct DecodedCacheOptions {
  std::filesystem::path path;  // the cache file; empty: decoded_cache_path(key) in the cache dir
  int threads = 1;             // decoding threads when (re)building
  bool rebuild = false;        // ignore a valid existing file
};

// The cached samples as an in-memory Dataset whose images map the file (labels and class names
// from the source). Builds the file first when it is missing or stale. Errors name the file;
// a sample that cannot be read is an Error naming it (the cache holds every sample).
Dataset decoded_cache(const Source& source, const Geometry& geometry,
                      const DecodedCacheOptions& options = {});

// The key of (source, geometry) and the default file for it:
// $XDG_CACHE_HOME/convkit/decoded/<key>.u8 (or ~/.cache/...); nullopt without either variable.
std::uint64_t decoded_cache_key(const Source& source, const Geometry& geometry);
std::optional<std::filesystem::path> decoded_cache_path(std::uint64_t key);

}  // namespace convkit::data
