// Sources over memory and subsets, and the stratified split (see source.h).
#include <convkit/data/source.h>
#include <convkit/util/error.h>
#include <convkit/util/rng.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <exception>
#include <mutex>
#include <thread>

namespace convkit::data {

std::string Source::sample_name(std::int64_t i) const {
  return fmt::format("{}[{}]", name_, i);
}

std::vector<std::int32_t> Source::labels() const {
  std::vector<std::int32_t> out(static_cast<std::size_t>(size()));
  for (std::int64_t i = 0; i < size(); ++i) out[std::size_t(i)] = label(i);
  return out;
}

DatasetSource::DatasetSource(Dataset dataset) : dataset_(std::move(dataset)) {
  const Tensor& x = dataset_.images;
  name_ = dataset_.name.empty() ? "dataset" : dataset_.name;
  if (!x.defined() || x.dtype() != DType::u8 || x.rank() != 4 || !x.is_contiguous())
    fail("{}: images must be contiguous u8 [N, C, H, W]", name_);
  if (!dataset_.labels.defined() || dataset_.labels.dtype() != DType::i32 ||
      dataset_.labels.shape() != Shape{x.dim(0)})
    fail("{}: labels must be i32 [{}] to match the images {}", name_, x.dim(0), x.shape().str());
  class_names_ = dataset_.class_names;
  if (std::int64_t(class_names_.size()) < dataset_.num_classes)
    for (int k = int(class_names_.size()); k < dataset_.num_classes; ++k)
      class_names_.push_back(std::to_string(k));
}

std::int32_t DatasetSource::label(std::int64_t i) const {
  return dataset_.labels.data<std::int32_t>()[i];
}

Tensor DatasetSource::image(std::int64_t i) const {
  const Tensor& x = dataset_.images;
  return x.slice(i, i + 1).reshape({x.dim(1), x.dim(2), x.dim(3)});
}

std::optional<Shape> DatasetSource::image_shape() const {
  const Tensor& x = dataset_.images;
  return Shape{x.dim(1), x.dim(2), x.dim(3)};
}

SubsetSource::SubsetSource(std::shared_ptr<const Source> base, std::vector<std::int64_t> indices,
                           std::string name)
    : base_(std::move(base)), indices_(std::move(indices)) {
  name_ = name.empty() ? base_->name() : std::move(name);
  class_names_ = base_->class_names();
  const std::int64_t n = base_->size();
  for (std::size_t k = 0; k < indices_.size(); ++k)
    if (indices_[k] < 0 || indices_[k] >= n)
      fail("{}: subset index {} (position {}) is out of range: expected [0, {})", name_,
           indices_[k], k, n);
}

std::pair<std::vector<std::int64_t>, std::vector<std::int64_t>> stratified_split(
    std::span<const std::int32_t> labels, int num_classes, double fraction, std::uint64_t seed,
    const std::string& what) {
  if (!(fraction > 0.0 && fraction < 1.0))
    fail("{}: split fraction {} is out of range: expected a value in (0, 1)", what, fraction);
  std::vector<std::vector<std::int64_t>> by_class(std::size_t(std::max(num_classes, 0)));
  for (std::size_t i = 0; i < labels.size(); ++i) {
    const std::int32_t y = labels[i];
    if (y < 0 || y >= num_classes)
      fail("{}: label {} of sample {} is outside [0, {})", what, y, i, num_classes);
    by_class[std::size_t(y)].push_back(std::int64_t(i));
  }
  std::vector<std::int64_t> rest, held, perm;
  for (std::size_t c = 0; c < by_class.size(); ++c) {
    const auto& members = by_class[c];
    const auto n = std::int64_t(members.size());
    auto k = std::int64_t(std::llround(fraction * double(n)));
    if (k == 0 && n >= 2) k = 1;      // every class is represented on both sides when it can be
    if (k == n && n >= 2) k = n - 1;  // ...
    random_permutation(n, derive_key(seed, "data.stratified_split") ^ (c * 0x9e3779b97f4a7c15ull),
                       perm);
    for (std::int64_t j = 0; j < n; ++j)
      (j < k ? held : rest).push_back(members[std::size_t(perm[std::size_t(j)])]);
  }
  if (rest.empty() || held.empty())
    fail("{}: splitting {} samples with fraction {} leaves an empty part", what, labels.size(),
         fraction);
  std::sort(rest.begin(), rest.end());
  std::sort(held.begin(), held.end());
  return {std::move(rest), std::move(held)};
}

Dataset to_dataset(const Source& source, const std::optional<Geometry>& geometry, int threads,
                   std::vector<std::string>* skipped) {
  const std::int64_t n = source.size();
  std::optional<Geometry> g = geometry;
  if (g) {
    g->random_crop.enabled = false;
    validate(*g, source.name() + ": geometry");
  }
  const std::optional<Shape> native = source.image_shape();
  if (!g && !native)
    fail("{}: its images differ in size: give a geometry (the sample size)", source.name());
  const Shape shape = g ? g->shape() : *native;
  const std::int64_t chw = shape.numel();
  Tensor images = Tensor::empty({n, shape[0], shape[1], shape[2]}, DType::u8);
  std::vector<char> ok(static_cast<std::size_t>(n), 0);
  std::vector<std::string> problems(static_cast<std::size_t>(n));
  std::atomic<std::int64_t> next{0};
  std::exception_ptr error;
  std::mutex error_mutex;
  auto work = [&] {
    GeometryScratch scratch;
    for (;;) {
      const std::int64_t i = next.fetch_add(1);
      if (i >= n) return;
      try {
        const Tensor out =
            Tensor::wrap(static_cast<std::uint8_t*>(images.raw()) + i * chw, shape, DType::u8);
        const Tensor image = source.image(i);
        if (g) {
          prepare_image(image, *g, out, scratch);
        } else {
          if (image.shape() != shape)
            fail("{}: image is {}, expected {}", source.sample_name(i), image.shape().str(),
                 shape.str());
          out.copy_from(image.is_contiguous() ? image : image.clone());
        }
        ok[std::size_t(i)] = 1;
      } catch (const Error& e) {
        if (skipped) {
          problems[std::size_t(i)] = e.what();
          continue;
        }
        std::lock_guard<std::mutex> lock(error_mutex);
        if (!error) error = std::current_exception();
        next = n;  // stop early
        return;
      }
    }
  };
  const int t = std::clamp(threads, 1, 64);
  std::vector<std::thread> pool;
  for (int k = 1; k < t; ++k) pool.emplace_back(work);
  work();
  for (auto& th : pool) th.join();
  if (error) std::rethrow_exception(error);
  Dataset out;
  out.name = source.name();
  out.class_names = source.class_names();
  out.num_classes = source.num_classes();
  std::vector<std::int64_t> kept;
  for (std::int64_t i = 0; i < n; ++i) {
    if (ok[std::size_t(i)])
      kept.push_back(i);
    else if (skipped)
      skipped->push_back(problems[std::size_t(i)]);
  }
  out.images = images;
  out.labels = Tensor::empty({n}, DType::i32);
  for (std::int64_t i = 0; i < n; ++i) out.labels.data<std::int32_t>()[i] = source.label(i);
  if (std::int64_t(kept.size()) < n) {
    if (kept.empty()) fail("{}: none of its {} images could be read", source.name(), n);
    out = out.subset(kept);
  }
  return out;
}

ChannelStats sampled_channel_stats(const Source& source, const Geometry& geometry,
                                   std::int64_t max_samples, int threads) {
  const std::int64_t n = source.size();
  const std::int64_t k = std::max<std::int64_t>(1, (n + max_samples - 1) / max_samples);
  std::vector<std::int64_t> picks;
  for (std::int64_t i = 0; i < n; i += k) picks.push_back(i);
  auto shared = std::shared_ptr<const Source>(&source, [](const Source*) {});
  const SubsetSource sample(shared, std::move(picks));
  std::vector<std::string> skipped;
  return channel_stats(to_dataset(sample, geometry, threads, &skipped));
}

}  // namespace convkit::data
