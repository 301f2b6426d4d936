// Source: where a Loader reads its samples. A source knows how many samples it has, each
// sample's label (all labels are in memory: they are small), and produces sample i's image as
// u8 [C, H, W] (C = 1 or 3 channels, any H and W: images on disk differ in size). Sources are
// read from several loader workers at once, so image() must be safe to call concurrently.
//
// In-memory sources wrap a Dataset (IDX, CIFAR: DatasetSource); streaming ones decode files on
// demand (image_folder.h). SubsetSource views some samples of another source (splits).
#pragma once

#include <convkit/data/dataset.h>
#include <convkit/data/geometry.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace convkit::data {

// A sample a source could not produce while a Loader read it (its name in the message): data
// to fix, not a program error (the CLI exits 3).
class SampleError : public Error {
 public:
  using Error::Error;
};

class Source {
 public:
  virtual ~Source() = default;

  virtual std::int64_t size() const = 0;
  virtual std::int32_t label(std::int64_t i) const = 0;
  // Sample i's pixels, u8 [C, H, W]. May be a view of memory the source owns (do not write).
  // Thread-safe. A file that cannot be read or decoded is an Error naming the file.
  virtual Tensor image(std::int64_t i) const = 0;
  // What names sample i in messages: its file path, or "<dataset name>[i]".
  virtual std::string sample_name(std::int64_t i) const;
  // [C, H, W] when every image has that shape (in-memory sources), else nullopt.
  virtual std::optional<Shape> image_shape() const { return std::nullopt; }
  // The Dataset behind an in-memory source (its images u8 [N, C, H, W]), else nullptr: the
  // Loader copies from it directly when no resizing is needed.
  virtual const Dataset* in_memory() const { return nullptr; }

  int num_classes() const { return int(class_names_.size()); }
  const std::vector<std::string>& class_names() const { return class_names_; }
  const std::string& name() const { return name_; }

  // All labels, in sample order.
  std::vector<std::int32_t> labels() const;

 protected:
  std::vector<std::string> class_names_;
  std::string name_ = "dataset";
};

// An in-memory Dataset as a source (images are views, nothing is copied).
class DatasetSource final : public Source {
 public:
  explicit DatasetSource(Dataset dataset);
  std::int64_t size() const override { return dataset_.size(); }
  std::int32_t label(std::int64_t i) const override;
  Tensor image(std::int64_t i) const override;
  std::optional<Shape> image_shape() const override;
  const Dataset* in_memory() const override { return &dataset_; }

 private:
  Dataset dataset_;
};

// Samples `indices` of `base`, in that order (a split, a subsample). The indices must be in range.
class SubsetSource final : public Source {
 public:
  SubsetSource(std::shared_ptr<const Source> base, std::vector<std::int64_t> indices,
               std::string name = {});
  std::int64_t size() const override { return std::int64_t(indices_.size()); }
  std::int32_t label(std::int64_t i) const override { return base_->label(at(i)); }
  Tensor image(std::int64_t i) const override { return base_->image(at(i)); }
  std::string sample_name(std::int64_t i) const override { return base_->sample_name(at(i)); }
  std::optional<Shape> image_shape() const override { return base_->image_shape(); }
  const std::vector<std::int64_t>& indices() const { return indices_; }

 private:
  std::int64_t at(std::int64_t i) const { return indices_[std::size_t(i)]; }
  std::shared_ptr<const Source> base_;
  std::vector<std::int64_t> indices_;
};

// A seeded stratified split of sample indices into {rest, held_out}: in each class,
// round(fraction * class size) samples are held out (at least one from a class of two or more
// when fraction > 0), chosen by a permutation keyed by (seed, class); both parts are sorted.
// fraction outside (0, 1), or a split that leaves a part empty, is an Error naming `what`.
std::pair<std::vector<std::int64_t>, std::vector<std::int64_t>> stratified_split(
    std::span<const std::int32_t> labels, int num_classes, double fraction, std::uint64_t seed,
    const std::string& what = "dataset");

// Decodes every sample of `source` into memory at the sample shape of `geometry` (deterministic
// policy: no random crop) or, without one, at the source's own shape: u8 [N, C, H, W], labels
// and class names from the source, name `name`. `threads` decode in parallel; the result is the
// same for any number. A sample that cannot be read is an Error naming it, or, with
// `skipped` given, left out and listed there ("path: why").
Dataset to_dataset(const Source& source, const std::optional<Geometry>& geometry, int threads = 1,
                   std::vector<std::string>* skipped = nullptr);

// Per-channel mean and std on [0, 1] of up to `max_samples` samples spread evenly over the source
// (every k-th), brought to `geometry` first: the normalization of data too large to scan whole.
ChannelStats sampled_channel_stats(const Source& source, const Geometry& geometry,
                                   std::int64_t max_samples = 2000, int threads = 1);

}  // namespace convkit::data
