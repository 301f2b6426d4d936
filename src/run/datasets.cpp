// Dataset loading for the CLI (see datasets.h).
#include <convkit/run/datasets.h>

#include <convkit/run/errors.h>

#include <convkit/data/decoded_cache.h>
#include <convkit/data/image_folder.h>
#include <convkit/data/registry.h>
#include <convkit/data/resolve.h>

#include <convkit/util/rng.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <span>
#include <thread>

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

// A seeded random subset of n samples of a source (all of it when n <= 0 or n >= its size).
std::shared_ptr<const data::Source> first(std::shared_ptr<const data::Source> s, std::int64_t n,
                                          std::uint64_t seed) {
  if (n <= 0 || n >= s->size()) return s;
  std::vector<std::int64_t> perm;
  data::random_permutation(s->size(), derive_key(seed, "data.split"), perm);
  perm.resize(std::size_t(n));
  std::sort(perm.begin(), perm.end());
  return std::make_shared<data::SubsetSource>(s, std::move(perm));
}

// The first k samples of each class in a seeded permutation, in index order (a labelled subset
// of k per class, the same for a seed; a class with fewer keeps all of its own).
std::vector<std::int64_t> per_class_indices(std::span<const std::int32_t> labels, std::int64_t k,
                                            std::uint64_t seed) {
  std::vector<std::int64_t> perm, out;
  data::random_permutation(std::int64_t(labels.size()), derive_key(seed, "data.per_class"), perm);
  std::map<std::int32_t, std::int64_t> taken;
  for (auto i : perm)
    if (taken[labels[std::size_t(i)]]++ < k) out.push_back(i);
  std::sort(out.begin(), out.end());
  return out;
}

data::Dataset per_class(const data::Dataset& d, std::int64_t k, std::uint64_t seed) {
  if (k <= 0) return d;
  const std::int32_t* l = d.labels.data<std::int32_t>();
  const auto idx = per_class_indices({l, std::size_t(d.size())}, k, seed);
  return d.subset(idx);
}

std::shared_ptr<const data::Source> per_class(std::shared_ptr<const data::Source> s, std::int64_t k,
                                              std::uint64_t seed) {
  if (k <= 0) return s;
  const auto labels = s->labels();
  return std::make_shared<data::SubsetSource>(s, per_class_indices(labels, k, seed));
}

// {rest, held out}: a stratified split of a source's samples.
std::pair<std::shared_ptr<const data::Source>, std::shared_ptr<const data::Source>> split(
    const std::shared_ptr<const data::Source>& s, double fraction, std::uint64_t seed,
    const std::string& what) {
  const auto labels = s->labels();
  auto [rest, held] = data::stratified_split(labels, s->num_classes(), fraction, seed, what);
  return {std::make_shared<data::SubsetSource>(s, std::move(rest)),
          std::make_shared<data::SubsetSource>(s, std::move(held))};
}

int default_threads() {
  return std::max(1, int(std::thread::hardware_concurrency()));
}

// The image-file datasets (folder, csv), and in-memory images resized to the model's input.
void load_images(const DataRequest& r, LoadedData& out) {
  const ImageDataConfig& im = r.images;
  const std::string root = !im.path.empty() ? im.path : r.data_dir;
  if (root.empty())
    config_fail("dataset '{}' reads image files: give the {} with dataset.path or --data {}",
                r.name, r.name == "csv" ? "training CSV list" : "folder",
                r.name == "csv" ? "FILE.csv" : "DIR");
  data::Geometry geometry = im.geometry;
  if (geometry.channels != 1 && geometry.channels != 3)
    config_fail("'model.input' has {} channels: image files are read as 1 (grey) or 3 (RGB)",
                geometry.channels);
  // JPEGs may decode at a reduced size that still covers the sample (not with random crops:
  // a small crop needs the full resolution).
  const double cover =
      geometry.resize == data::ResizePolicy::CenterCrop ? geometry.crop_fraction : 1;
  const bool reduce = !geometry.random_crop.enabled;
  data::ImageFileOptions files{
      .skip_bad_files = im.skip_bad_files,
      .min_height = reduce ? std::int64_t(std::ceil(double(geometry.height) / cover)) : 0,
      .min_width = reduce ? std::int64_t(std::ceil(double(geometry.width) / cover)) : 0};
  std::shared_ptr<const data::ImageFileSource> train, validation, test;
  if (r.name == "folder") {
    if (!im.test.empty() || !im.validation.empty())
      config_fail(
          "'dataset.test' and 'dataset.validation' name CSV lists (dataset 'csv'); a "
          "folder's parts are its train/, val/ and test/ sub-folders");
    auto parts = data::scan_image_folder_splits(root, files);
    train = parts.train, validation = parts.validation, test = parts.test;
  } else {
    train = data::read_image_list(root, files);
    if (!im.validation.empty())
      validation = data::read_image_list(im.validation, files, &train->class_names());
    if (!im.test.empty()) test = data::read_image_list(im.test, files, &train->class_names());
  }
  for (const auto& part : {train, validation, test})
    if (part) out.skipped.insert(out.skipped.end(), part->skipped().begin(), part->skipped().end());
  out.class_names = train->class_names();
  std::shared_ptr<const data::Source> train_part = train, test_part = test, val_part = validation;
  if (!test_part) {
    if (im.test_split <= 0)
      config_fail(
          "{}: no test part ({}): set dataset.test_split (e.g. 0.1) to hold out a stratified "
          "share of the training images",
          root, r.name == "folder" ? "no test/ folder" : "no dataset.test list");
    std::tie(train_part, test_part) = split(train_part, im.test_split, r.seed + 7, root);
  }
  if (!val_part && r.validation_split > 0)
    std::tie(train_part, val_part) = split(train_part, r.validation_split, r.seed, root);
  out.train_stream = first(per_class(train_part, r.per_class, r.seed), r.train_samples, r.seed);
  out.geometry = geometry;
  if (!im.cache.empty()) {  // decoded once into a mapped file: the training part is in memory
    out.train = data::decoded_cache(
        *out.train_stream, geometry,
        {.path = im.cache == "auto" ? std::filesystem::path() : std::filesystem::path(im.cache),
         .threads = std::max(im.workers, default_threads())});
    out.train_stream = nullptr;
  }
  test_part = first(test_part, r.test_samples, r.seed + 1);
  const int threads = std::max(im.workers, default_threads());
  std::vector<std::string>* skipped = im.skip_bad_files ? &out.skipped : nullptr;
  out.test = data::to_dataset(*test_part, geometry, threads, skipped);
  if (val_part) out.validation = data::to_dataset(*val_part, geometry, threads, skipped);
  if (r.measure_stats) {
    const data::ChannelStats stats =
        out.train_stream ? data::sampled_channel_stats(*out.train_stream, geometry, 2000, threads)
                         : data::channel_stats(out.train);
    out.preprocess.mean.assign(stats.mean.begin(), stats.mean.end());
    out.preprocess.std.assign(stats.std.begin(), stats.std.end());
    for (auto& sd : out.preprocess.std) sd = std::max(sd, 1e-3f);
  }
}

}  // namespace

const data::Dataset& LoadedData::train_in_memory() {
  if (train_stream && train.size() == 0)
    train =
        as_data_error([&] { return data::to_dataset(*train_stream, geometry, default_threads()); });
  return train;
}

DataRequest data_request(const RunConfig& cfg, const std::string& data_dir) {
  return {.name = cfg.dataset,
          .data_dir = data_dir,
          .train_samples = cfg.train_samples,
          .test_samples = cfg.test_samples,
          .per_class = cfg.per_class,
          .seed = cfg.seed,
          .validation_split = cfg.validation_split,
          .images = cfg.images};
}

LoadedData load_data(const std::string& name, const std::string& data_dir,
                     std::int64_t train_samples, std::int64_t test_samples, std::uint64_t seed) {
  return load_data(DataRequest{.name = name,
                               .data_dir = data_dir,
                               .train_samples = train_samples,
                               .test_samples = test_samples,
                               .seed = seed});
}

LoadedData load_data(const DataRequest& r) {
  const std::string& name = r.name;
  const std::string& data_dir = r.data_dir;
  const std::int64_t train_samples = r.train_samples, test_samples = r.test_samples;
  const std::uint64_t seed = r.seed;
  return as_data_error([&] {
    LoadedData out;
    if (name == "folder" || name == "csv") {
      load_images(r, out);
      return out;
    }
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
    out.train = first(per_class(out.train, r.per_class, seed), train_samples, seed);
    out.test = first(out.test, test_samples, seed + 1);
    // dataset.resize with a model input of another size: the images are resized on the fly
    // (training, in the loader) and once (test).
    const data::Geometry& g = r.images.geometry;
    if (r.images.resize_given && g.channels > 0 &&
        (Shape{out.train.channels(), out.train.height(), out.train.width()} != g.shape() ||
         g.random_crop.enabled)) {
      const int threads = default_threads();
      out.test = data::to_dataset(data::DatasetSource(out.test), g, threads);
      std::shared_ptr<const data::Source> stream =
          std::make_shared<data::DatasetSource>(std::move(out.train));
      if (r.validation_split > 0) {
        std::shared_ptr<const data::Source> val;
        std::tie(stream, val) = split(stream, r.validation_split, seed, name);
        out.validation = data::to_dataset(*val, g, threads);
      }
      out.train_stream = std::move(stream);
      out.geometry = g;
      out.train = {};
      if (!known_stats && r.measure_stats) {
        auto stats = data::sampled_channel_stats(*out.train_stream, g, 2000, threads);
        out.preprocess.mean.assign(stats.mean.begin(), stats.mean.end());
        out.preprocess.std.assign(stats.std.begin(), stats.std.end());
        for (auto& sd : out.preprocess.std) sd = std::max(sd, 1e-3f);
      }
    }
    return out;
  });
}

LoadedData load_data_of_run(const RunInfo& info, const std::string& data_dir) {
  const std::string dir = data_dir.empty() ? info.data_dir : data_dir;
  if (!info.config_yaml.empty()) {
    std::optional<RunConfig> cfg;
    try {
      cfg = parse_run_config(info.config_yaml, "the run's stored config");
    } catch (const ConfigError& e) {
      fmt::print(stderr, "convkit: warning: {}; using the whole {} dataset\n", e.what(),
                 info.dataset);
    }
    if (cfg) {
      DataRequest request = data_request(*cfg, dir);
      request.measure_stats = false;  // the run's own normalization is in `info`
      return load_data(request);
    }
  }
  return load_data(info.dataset, dir);
}

}  // namespace convkit::run
