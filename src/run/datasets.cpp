// Dataset loading for the CLI (see datasets.h).
#include <convkit/run/datasets.h>

#include <convkit/run/errors.h>

#include <convkit/data/registry.h>
#include <convkit/data/resolve.h>

#include <filesystem>

namespace convkit::run {

namespace fs = std::filesystem;

namespace {

// DIR/name.gz or DIR/name (the first that exists).
fs::path find_file(const fs::path& dir, const std::string& name) {
  for (const auto& candidate : {dir / (name + ".gz"), dir / name})
    if (fs::exists(candidate)) return candidate;
  throw DataError(
      fmt::format("{}: missing {} (or {}.gz); an idx dataset needs train-images-idx3-ubyte, "
                  "train-labels-idx1-ubyte, t10k-images-idx3-ubyte and t10k-labels-idx1-ubyte",
                  dir.string(), name, name));
}

data::Dataset first(const data::Dataset& d, std::int64_t n, std::uint64_t seed) {
  if (n <= 0 || n >= d.size()) return d;
  auto parts = d.split(double(n) / double(d.size()), seed);  // a seeded random subset of n samples
  return parts.second;
}

}  // namespace

LoadedData load_data(const std::string& name, const std::string& data_dir,
                     std::int64_t train_samples, std::int64_t test_samples, std::uint64_t seed) {
  return as_data_error([&] {
    LoadedData out;
    bool known_stats = false;
    if (name == "idx") {
      if (data_dir.empty())
        throw DataError(
            "dataset 'idx' reads your own IDX files: give their folder with --data DIR");
      const fs::path dir(data_dir);
      out.train = data::read_idx(find_file(dir, "train-images-idx3-ubyte"),
                                 find_file(dir, "train-labels-idx1-ubyte"));
      out.test = data::read_idx(find_file(dir, "t10k-images-idx3-ubyte"),
                                find_file(dir, "t10k-labels-idx1-ubyte"), out.train.num_classes);
      out.class_names = out.train.class_names;
    } else {
      data::ResolveOptions resolve;
      if (!data_dir.empty()) resolve.data_dir = fs::path(data_dir);
      auto splits = data::load_dataset(name, resolve);
      const auto& info = data::dataset_info(name);
      out.train = std::move(splits.train);
      out.test = std::move(splits.test);
      out.class_names = info.class_names;
      if (info.mean && info.std) {
        out.preprocess.mean = {*info.mean};
        out.preprocess.std = {*info.std};
        known_stats = true;
      }
    }
    if (!known_stats) {
      auto stats = data::channel_stats(out.train);
      out.preprocess.mean.assign(stats.mean.begin(), stats.mean.end());
      out.preprocess.std.assign(stats.std.begin(), stats.std.end());
      for (auto& s : out.preprocess.std) s = std::max(s, 1e-3f);
    }
    out.train = first(out.train, train_samples, seed);
    out.test = first(out.test, test_samples, seed + 1);
    return out;
  });
}

}  // namespace convkit::run
