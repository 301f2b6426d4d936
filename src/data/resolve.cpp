// Dataset resolution: user directories, then the cache, then a download into the cache; and
// load_dataset on top. Errors say which file is wrong and, when files are missing, every place
// the user can put them and every URL they can be fetched from.
#include <convkit/data/resolve.h>
#include <convkit/util/error.h>

#include "data/download.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>

namespace convkit::data {

namespace fs = std::filesystem;

namespace {

struct Found {
  fs::path path;
  bool gz = false;
};

std::optional<Found> find_file(const fs::path& dir, const DatasetFile& f) {
  std::error_code ec;
  if (fs::is_regular_file(dir / f.name, ec)) return Found{dir / f.name, true};
  if (fs::is_regular_file(dir / f.raw_name(), ec)) return Found{dir / f.raw_name(), false};
  return std::nullopt;
}

bool has_any(const fs::path& dir, const DatasetInfo& info) {
  for (const DatasetFile& f : info.files)
    if (find_file(dir, f)) return true;
  return false;
}

// "" when the .gz file has the registry's size and SHA-256, else what is wrong with it.
std::string check_gz(const fs::path& path, const DatasetFile& f) {
  std::error_code ec;
  auto size = static_cast<std::int64_t>(fs::file_size(path, ec));
  if (ec) return fmt::format("{}: cannot read its size: {}", path.string(), ec.message());
  if (size != f.bytes)
    return fmt::format("{}: size mismatch: expected {} bytes, found {}", path.string(), f.bytes,
                       size);
  std::string sha = sha256_file(path);
  if (sha != f.sha256)
    return fmt::format("{}: SHA-256 mismatch: expected {}, found {}", path.string(), f.sha256, sha);
  return {};
}

const std::vector<std::string>& mirrors_of(const DatasetInfo& info, const ResolveOptions& opts) {
  return opts.mirrors.empty() ? info.mirrors : opts.mirrors;
}

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

// The multi-line advice appended to "not found" errors: where files may go, where they come from.
std::string how_to_get(const DatasetInfo& info, const ResolveOptions& opts) {
  std::string s = fmt::format(
      "\nPut the {} files (each as .gz, or uncompressed without the .gz) in one of:", info.name);
  if (opts.data_dir)
    s += fmt::format("\n  {}  (or {} itself)", (*opts.data_dir / info.name).string(),
                     opts.data_dir->string());
  std::string data = env("CONVKIT_DATA");
  s += data.empty() ? fmt::format("\n  $CONVKIT_DATA/{}  (set CONVKIT_DATA to a folder)", info.name)
                    : fmt::format("\n  {}", (fs::path(data) / info.name).string());
  if (auto cache = dataset_cache_dir(info.name)) s += fmt::format("\n  {}", cache->string());
  s += "\nDownload them from:";
  for (const DatasetFile& f : info.files) {
    s += fmt::format("\n  {} ({} bytes, SHA-256 {}):", f.name, f.bytes, f.sha256);
    for (const std::string& m : mirrors_of(info, opts)) s += " " + detail::file_url(m, f);
  }
  return s;
}

// A directory the user pointed at: all files must be present and intact; it is never modified.
fs::path verify_user_dir(const DatasetInfo& info, const fs::path& dir, std::string_view origin,
                         const ResolveOptions& opts) {
  std::vector<std::string> missing;
  for (const DatasetFile& f : info.files) {
    auto found = find_file(dir, f);
    if (!found) {
      missing.push_back(f.name);
      continue;
    }
    if (!found->gz) continue;  // uncompressed: no checksum; read_idx validates the structure
    std::string problem = check_gz(found->path, f);
    if (!problem.empty()) {
      std::string url = mirrors_of(info, opts).empty()
                            ? std::string("the dataset's publisher")
                            : detail::file_url(mirrors_of(info, opts).front(), f);
      fail(
          "{}. The file is corrupt or not the official {} file; delete it or replace it with a "
          "copy of {} (it is in {}, which convkit never overwrites)",
          problem, info.name, url, origin);
    }
  }
  if (!missing.empty())
    fail("{} ({}) holds only some of the {} files: {} missing.{}", dir.string(), origin, info.name,
         fmt::join(missing, ", "), how_to_get(info, opts));
  return dir;
}

}  // namespace

std::optional<fs::path> dataset_cache_dir(std::string_view name) {
  std::string xdg = env("XDG_CACHE_HOME");
  if (!xdg.empty() && fs::path(xdg).is_absolute())
    return fs::path(xdg) / "convkit" / "datasets" / std::string(name);
  std::string home = env("HOME");
  if (!home.empty()) return fs::path(home) / ".cache" / "convkit" / "datasets" / std::string(name);
  return std::nullopt;
}

fs::path resolve_dataset(std::string_view name, const ResolveOptions& options) {
  return resolve_dataset(dataset_info(name), options);
}

fs::path resolve_dataset(const DatasetInfo& info, const ResolveOptions& opts) {
  if (opts.data_dir) {
    const fs::path& dir = *opts.data_dir;
    for (const fs::path& d : {dir / info.name, dir})
      if (has_any(d, info)) return verify_user_dir(info, d, "--data", opts);
    fail("--data {}: no {} files found in {} or in {} itself.{}", dir.string(), info.name,
         (dir / info.name).string(), dir.string(), how_to_get(info, opts));
  }
  if (std::string data = env("CONVKIT_DATA"); !data.empty()) {
    fs::path dir = fs::path(data) / info.name;
    if (has_any(dir, info)) return verify_user_dir(info, dir, "$CONVKIT_DATA", opts);
  }
  auto cache = dataset_cache_dir(info.name);
  if (!cache)
    fail(
        "cannot find dataset '{}': neither $XDG_CACHE_HOME nor $HOME is set, so there is no "
        "cache to download into.{}",
        info.name, how_to_get(info, opts));

  // The cache: collect the files to (re-)download.
  std::vector<const DatasetFile*> need;
  std::vector<std::string> corrupt;
  for (const DatasetFile& f : info.files) {
    auto found = find_file(*cache, f);
    if (!found) {
      need.push_back(&f);
    } else if (found->gz) {
      if (std::string problem = check_gz(found->path, f); !problem.empty()) {
        need.push_back(&f);
        corrupt.push_back(problem);
      }
    }
  }
  if (need.empty()) return *cache;
  if (!opts.allow_download) {
    if (!corrupt.empty())
      fail("{}. Delete the file (downloads are disabled, so it cannot be fetched again).{}",
           corrupt.front(), how_to_get(info, opts));
    fail("cannot find dataset '{}' and downloads are disabled.{}", info.name,
         how_to_get(info, opts));
  }

  std::error_code ec;
  fs::create_directories(*cache, ec);
  if (ec)
    fail("cannot create the cache directory {}: {}.{}", cache->string(), ec.message(),
         how_to_get(info, opts));
  const bool terminal = ::isatty(STDERR_FILENO) == 1;
  for (const std::string& problem : corrupt)
    std::fprintf(stderr, "convkit: %s; downloading it again\n", problem.c_str());
  if (terminal)
    std::fprintf(stderr, "convkit: downloading %s into %s\n", info.name.c_str(), cache->c_str());
  detail::DownloadOptions dl{.connect_timeout_s = opts.connect_timeout_s,
                             .stall_timeout_s = opts.stall_timeout_s,
                             .progress = terminal};
  for (const DatasetFile* f : need) {
    std::vector<std::string> failures =
        detail::download_file(*f, mirrors_of(info, opts), *cache, dl);
    if (!failures.empty())
      fail("cannot download dataset '{}': every mirror failed for {}:\n  {}{}", info.name, f->name,
           fmt::join(failures, "\n  "), how_to_get(info, opts));
  }
  return *cache;
}

DatasetSplits load_dataset(std::string_view name, const ResolveOptions& options) {
  return load_dataset(dataset_info(name), options);
}

DatasetSplits load_dataset(const DatasetInfo& info, const ResolveOptions& options) {
  fs::path dir = resolve_dataset(info, options);
  auto path = [&](int role) { return find_file(dir, info.files[role])->path; };
  std::optional<int> classes;
  if (info.num_classes() > 0) classes = info.num_classes();
  DatasetSplits s{read_idx(path(kTrainImages), path(kTrainLabels), classes),
                  read_idx(path(kTestImages), path(kTestLabels), classes)};
  auto check = [&](Dataset& d, int role, std::int64_t want, const char* part) {
    const Tensor& x = d.images;
    if (x.dim(1) != info.channels || x.dim(2) != info.height || x.dim(3) != info.width)
      fail("{}: images are {}x{}x{}: expected {}x{}x{} for {}", path(role).string(), x.dim(1),
           x.dim(2), x.dim(3), info.channels, info.height, info.width, info.name);
    if (want > 0 && d.size() != want)
      fail("{}: {} samples: expected {} in the {} {} split", path(role).string(), d.size(), want,
           info.name, part);
    d.name = info.name + "/" + part;
    if (!info.class_names.empty()) d.class_names = info.class_names;
  };
  check(s.train, kTrainImages, info.train_size, "train");
  check(s.test, kTestImages, info.test_size, "test");
  return s;
}

}  // namespace convkit::data
