// Dataset resolution: user directories, then the cache, then a download into the cache; and
// load_dataset on top (read_idx for the four IDX files, read_cifar for an archive dataset). Errors
// say which file is wrong and, when files are missing, every place the user can put them and every
// URL they can be fetched from.
#include <convkit/data/cifar.h>
#include <convkit/data/resolve.h>
#include <convkit/util/error.h>

#include "data/download.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>

namespace convkit::data {

namespace fs = std::filesystem;

namespace {

// A copy of a published file (or of what it holds) found on disk.
struct Found {
  fs::path path;
  bool checked = false;  // the published file itself: verified by size and SHA-256
};

// The four IDX files: each as published (.gz) or uncompressed.
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

// Archive datasets (CIFAR).
CifarVariant variant_of(const DatasetInfo& info) {
  switch (info.format) {
    case DatasetFormat::cifar10_binary:
      return CifarVariant::cifar10;
    case DatasetFormat::cifar100_binary:
      return CifarVariant::cifar100;
    case DatasetFormat::cifar100_coarse_binary:
      return CifarVariant::cifar100_coarse;
    case DatasetFormat::idx4:
      break;
  }
  fail("dataset '{}' is not published as an archive", info.name);
}

// The batch files (of the train and test splits) that `dir` lacks.
std::vector<std::string> missing_batches(const fs::path& dir, const CifarLayout& l) {
  std::vector<std::string> missing;
  std::error_code ec;
  for (const auto* files : {&l.train_files, &l.test_files})
    for (const std::string& f : *files)
      if (!fs::is_regular_file(dir / f, ec)) missing.push_back(f);
  return missing;
}

// An archive dataset in `dir`: the archive as published (.tar.gz; checked), decompressed (.tar;
// not checked), the folder it extracts to, or, when `loose`, the extracted files in dir itself.
std::optional<Found> find_archive(const fs::path& dir, const DatasetInfo& info, bool loose) {
  if (auto found = find_file(dir, info.archive)) return found;
  const CifarLayout& l = cifar_layout(variant_of(info));
  std::error_code ec;
  const std::size_t all = l.train_files.size() + l.test_files.size();
  if (fs::is_directory(dir / l.folder, ec)) return Found{dir / l.folder, false};
  if (loose && missing_batches(dir, l).size() < all) return Found{dir, false};
  return std::nullopt;
}

// "" when the file has the registry's size and SHA-256, else what is wrong with it.
std::string check_published(const fs::path& path, const DatasetFile& f) {
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
  const std::string& folder = info.folder_name();
  std::string s;
  if (info.is_archive())
    s = fmt::format("\nPut {} (or the folder {} it extracts to) in one of:", info.archive.name,
                    cifar_layout(variant_of(info)).folder);
  else
    s = fmt::format("\nPut the {} files (each as .gz, or uncompressed without the .gz) in one of:",
                    info.name);
  if (opts.data_dir)
    s += fmt::format("\n  {}  (or {} itself)", (*opts.data_dir / folder).string(),
                     opts.data_dir->string());
  std::string data = env("CONVKIT_DATA");
  const std::string root = data.empty() ? "$CONVKIT_DATA" : data;
  std::vector<std::string> notes;
  if (info.is_archive()) notes.push_back(fmt::format("or {} itself", root));
  if (data.empty()) notes.push_back("set CONVKIT_DATA to a folder");
  s += fmt::format("\n  {}", (fs::path(root) / folder).string());
  if (!notes.empty()) s += fmt::format("  ({})", fmt::join(notes, "; "));
  if (auto cache = dataset_cache_dir(folder)) s += fmt::format("\n  {}", cache->string());
  s += info.is_archive() ? "\nDownload it from:" : "\nDownload them from:";
  for (const DatasetFile& f : info.published()) {
    s += fmt::format("\n  {} ({} bytes, SHA-256 {}):", f.name, f.bytes, f.sha256);
    for (const std::string& m : mirrors_of(info, opts)) s += " " + detail::file_url(m, f);
  }
  return s;
}

[[noreturn]] void fail_corrupt(const DatasetInfo& info, const DatasetFile& f,
                               const std::string& problem, std::string_view origin,
                               const ResolveOptions& opts) {
  std::string url = mirrors_of(info, opts).empty()
                        ? std::string("the dataset's publisher")
                        : detail::file_url(mirrors_of(info, opts).front(), f);
  fail(
      "{}. The file is corrupt or not the official {} file; delete it or replace it with a "
      "copy of {} (it is in {}, which convkit never overwrites)",
      problem, info.name, url, origin);
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
    if (!found->checked) continue;  // uncompressed: no checksum; read_idx validates the structure
    std::string problem = check_published(found->path, f);
    if (!problem.empty()) fail_corrupt(info, f, problem, origin, opts);
  }
  if (!missing.empty())
    fail("{} ({}) holds only some of the {} files: {} missing.{}", dir.string(), origin, info.name,
         fmt::join(missing, ", "), how_to_get(info, opts));
  return dir;
}

// The dataset in a directory the user pointed at (see verify_user_dir); nullopt when it holds
// nothing of it. For archive datasets: the archive (checked) or the folder of extracted files
// (all batches present; read_cifar validates their sizes and contents).
std::optional<fs::path> from_user_dir(const DatasetInfo& info, const fs::path& dir,
                                      std::string_view origin, const ResolveOptions& opts,
                                      bool loose = true) {
  if (!info.is_archive()) {
    if (!has_any(dir, info)) return std::nullopt;
    return verify_user_dir(info, dir, origin, opts);
  }
  auto found = find_archive(dir, info, loose);
  if (!found) return std::nullopt;
  if (found->checked) {
    std::string problem = check_published(found->path, info.archive);
    if (!problem.empty()) fail_corrupt(info, info.archive, problem, origin, opts);
  } else if (std::error_code ec; fs::is_directory(found->path, ec)) {
    std::vector<std::string> missing = missing_batches(found->path, cifar_layout(variant_of(info)));
    if (!missing.empty())
      fail("{} ({}) holds only some of the {} files: {} missing.{}", found->path.string(), origin,
           info.name, fmt::join(missing, ", "), how_to_get(info, opts));
  }
  return found->path;
}

// What the cache lacks: the published files to (re-)download, with the problems of corrupt ones;
// `ready` is what to return when nothing is needed.
struct CacheState {
  std::vector<const DatasetFile*> need;
  std::vector<std::string> corrupt;
  fs::path ready;
};

CacheState check_cache(const DatasetInfo& info, const fs::path& cache) {
  CacheState c;
  c.ready = cache;
  if (info.is_archive()) {
    auto found = find_archive(cache, info, true);
    std::error_code ec;
    std::string problem;
    if (found && found->checked) problem = check_published(found->path, info.archive);
    // Fetch the archive when there is nothing, a corrupt archive or an incomplete extracted folder.
    const bool incomplete = found && !found->checked && fs::is_directory(found->path, ec) &&
                            !missing_batches(found->path, cifar_layout(variant_of(info))).empty();
    if (!found || !problem.empty() || incomplete) {
      c.need.push_back(&info.archive);
      if (!problem.empty()) c.corrupt.push_back(problem);
      c.ready = cache / info.archive.name;
    } else {
      c.ready = found->path;
    }
    return c;
  }
  for (const DatasetFile& f : info.files) {
    auto found = find_file(cache, f);
    if (!found) {
      c.need.push_back(&f);
    } else if (found->checked) {
      if (std::string problem = check_published(found->path, f); !problem.empty()) {
        c.need.push_back(&f);
        c.corrupt.push_back(problem);
      }
    }
  }
  return c;
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
  const std::string& folder = info.folder_name();
  if (opts.data_dir) {
    const fs::path& dir = *opts.data_dir;
    for (const fs::path& d : {dir / folder, dir})
      if (auto found = from_user_dir(info, d, "--data", opts)) return *found;
    fail("--data {}: no {} files found in {} or in {} itself.{}", dir.string(), info.name,
         (dir / folder).string(), dir.string(), how_to_get(info, opts));
  }
  if (std::string data = env("CONVKIT_DATA"); !data.empty()) {
    if (auto found = from_user_dir(info, fs::path(data) / folder, "$CONVKIT_DATA", opts))
      return *found;
    // An archive and the folder it extracts to have names of their own: they may sit in
    // $CONVKIT_DATA itself (loose batch files may not).
    if (info.is_archive())
      if (auto found = from_user_dir(info, fs::path(data), "$CONVKIT_DATA", opts, false))
        return *found;
  }
  auto cache = dataset_cache_dir(folder);
  if (!cache)
    fail(
        "cannot find dataset '{}': neither $XDG_CACHE_HOME nor $HOME is set, so there is no "
        "cache to download into.{}",
        info.name, how_to_get(info, opts));

  // The cache: collect the files to (re-)download.
  CacheState c = check_cache(info, *cache);
  if (c.need.empty()) return c.ready;
  if (!opts.allow_download) {
    if (!c.corrupt.empty())
      fail("{}. Delete the file (downloads are disabled, so it cannot be fetched again).{}",
           c.corrupt.front(), how_to_get(info, opts));
    fail("cannot find dataset '{}' and downloads are disabled.{}", info.name,
         how_to_get(info, opts));
  }

  std::error_code ec;
  fs::create_directories(*cache, ec);
  if (ec)
    fail("cannot create the cache directory {}: {}.{}", cache->string(), ec.message(),
         how_to_get(info, opts));
  const bool terminal = ::isatty(STDERR_FILENO) == 1;
  for (const std::string& problem : c.corrupt)
    std::fprintf(stderr, "convkit: %s; downloading it again\n", problem.c_str());
  if (terminal)
    std::fprintf(stderr, "convkit: downloading %s into %s\n", info.name.c_str(), cache->c_str());
  detail::DownloadOptions dl{.connect_timeout_s = opts.connect_timeout_s,
                             .stall_timeout_s = opts.stall_timeout_s,
                             .progress = terminal};
  for (const DatasetFile* f : c.need) {
    std::vector<std::string> failures =
        detail::download_file(*f, mirrors_of(info, opts), *cache, dl);
    if (!failures.empty())
      fail("cannot download dataset '{}': every mirror failed for {}:\n  {}{}", info.name, f->name,
           fmt::join(failures, "\n  "), how_to_get(info, opts));
  }
  return c.ready;
}

DatasetSplits load_dataset(std::string_view name, const ResolveOptions& options) {
  return load_dataset(dataset_info(name), options);
}

DatasetSplits load_dataset(const DatasetInfo& info, const ResolveOptions& options) {
  fs::path where = resolve_dataset(info, options);
  DatasetSplits s;
  fs::path train_file = where, test_file = where;  // named in shape and count errors
  if (info.is_archive()) {
    s = read_cifar(
        where,
        {.variant = variant_of(info), .train_size = info.train_size, .test_size = info.test_size});
    if (info.num_classes() > 0 && info.num_classes() != s.train.num_classes)
      fail("dataset '{}' lists {} class names: expected {} for its format", info.name,
           info.num_classes(), s.train.num_classes);
  } else {
    auto path = [&](int role) { return find_file(where, info.files[role])->path; };
    std::optional<int> classes;
    if (info.num_classes() > 0) classes = info.num_classes();
    s = {read_idx(path(kTrainImages), path(kTrainLabels), classes),
         read_idx(path(kTestImages), path(kTestLabels), classes)};
    train_file = path(kTrainImages);
    test_file = path(kTestImages);
  }
  auto check = [&](Dataset& d, const fs::path& file, std::int64_t want, const char* part) {
    const Tensor& x = d.images;
    if (x.dim(1) != info.channels || x.dim(2) != info.height || x.dim(3) != info.width)
      fail("{}: images are {}x{}x{}: expected {}x{}x{} for {}", file.string(), x.dim(1), x.dim(2),
           x.dim(3), info.channels, info.height, info.width, info.name);
    if (want > 0 && d.size() != want)
      fail("{}: {} samples: expected {} in the {} {} split", file.string(), d.size(), want,
           info.name, part);
    d.name = info.name + "/" + part;
    if (!info.class_names.empty()) d.class_names = info.class_names;
  };
  check(s.train, train_file, info.train_size, "train");
  check(s.test, test_file, info.test_size, "test");
  return s;
}

}  // namespace convkit::data
