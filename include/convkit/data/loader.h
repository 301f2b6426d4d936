// Loader: turns a Source (source.h: an in-memory Dataset, image files...) into normalized f32
// batches on background worker threads. Each epoch visits every sample once, in an order fixed
// by (seed, epoch) alone; reading, decoding, resizing (geometry.h) and augmentation run in the
// workers, and every random choice depends on (seed, epoch, sample or batch) only, so the batches
// are identical for any number of workers and threads, and a run can resume mid-epoch with
// set_position. The workers fill a small ring of preallocated batch slots ahead of the caller
// (a bounded queue: memory stays bounded however large the source), so after construction no
// batch allocates. Batches: images f32 [B, C, H, W] = (x / 255 - mean) / std per channel, labels
// i32 [B], and the source indices of the samples (B = batch size; the last batch of an epoch may
// be smaller unless drop_last).
// One thread drives a Loader (start_epoch/set_position/next); the workers are internal.
//
//   Loader loader(train, {.batch_size = 64, .seed = 1, .mean = {0.1307f}, .std = {0.3081f}});
//   for (std::int64_t epoch = 0; epoch < epochs; ++epoch) {
//     loader.start_epoch(epoch);
//     while (auto batch = loader.next()) step(batch->images, batch->labels);
//   }
#pragma once

#include <convkit/data/dataset.h>
#include <convkit/data/geometry.h>
#include <convkit/data/source.h>

#include <condition_variable>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <thread>
#include <vector>

namespace convkit::data {

// Called in the worker thread on each normalized batch before it is handed out (augmentation).
// first_row: the position of the batch's first row in the global batch (data-parallel shards:
// rank * batch_size), so a sample's random draws do not depend on the number of ranks.
using BatchHook = std::function<void(Tensor& batch_f32, std::uint64_t epoch,
                                     std::uint64_t batch_index, std::uint64_t first_row)>;

struct LoaderOptions {
  std::int64_t batch_size = 32;
  bool shuffle = true;
  std::uint64_t seed = 0;
  bool drop_last = false;
  std::vector<float> mean = {0.0f};  // per channel, or one value for all channels
  std::vector<float> std = {1.0f};
  BatchHook augment;  // optional; called from one worker at a time
  int prefetch = 2;   // batches prepared ahead of the one the caller holds
  int workers = 1;    // threads preparing batches (each prepares whole batches)
  // The sample shape and how images of other sizes get it; required when the source's images
  // differ in size. Absent: every image must have the source's shape.
  std::optional<Geometry> geometry;
  // A sample whose file cannot be read or decoded: false: the error ends the epoch (next()
  // rethrows it, naming the file); true: the next sample of the epoch's order stands in for it,
  // and the file is listed in skipped() (the same stand-in for any number of workers).
  bool skip_unreadable = false;
  // Data-parallel training: this process is shard `shard` of `shards`. Each epoch's order is cut
  // into global batches of batch_size * shards samples, and this shard takes rows
  // [shard * batch_size, (shard + 1) * batch_size) of each, so the shards together see exactly
  // the batches of one process with the global batch size. Requires drop_last.
  int shard = 0;
  int shards = 1;
};

// One batch. It refers to loader-owned memory and stays valid until the next call to next(),
// start_epoch() or set_position() (its slot is then reused).
struct BatchView {
  const Tensor& images;                   // f32 [b, C, H, W]
  const Tensor& labels;                   // i32 [b]
  std::span<const std::int64_t> indices;  // dataset index of each sample
  std::int64_t epoch;
  std::int64_t batch;  // index within the epoch
};

class Loader {
 public:
  Loader(Dataset dataset, LoaderOptions options);
  Loader(std::shared_ptr<const Source> source, LoaderOptions options);
  ~Loader();
  Loader(const Loader&) = delete;
  Loader& operator=(const Loader&) = delete;

  // Begins epoch `epoch` at its first batch (same as set_position(epoch, 0)).
  void start_epoch(std::int64_t epoch) { set_position(epoch, 0); }
  // Begins epoch `epoch` at batch `batch` (0 <= batch <= batches_per_epoch()): the batches that
  // follow are exactly those an uninterrupted epoch would give from there on.
  void set_position(std::int64_t epoch, std::int64_t batch);
  // The next batch of the current epoch, or nullopt when the epoch is over. An exception thrown
  // while preparing the batch (e.g. by the augment hook) is rethrown here.
  std::optional<BatchView> next();

  std::int64_t batches_per_epoch() const { return batches_; }
  std::int64_t size() const { return size_; }
  const Source& source() const { return *source_; }
  const LoaderOptions& options() const { return options_; }
  // The shape of one sample, [C, H, W].
  const Shape& sample_shape() const { return sample_shape_; }
  // Files skipped so far (skip_unreadable), each "path: why", in no particular order.
  std::vector<std::string> skipped() const;

  // The sample order of `epoch` (what the batches of that epoch visit, in order).
  void epoch_order(std::int64_t epoch, std::vector<std::int64_t>& out) const;

 private:
  // One preallocated batch: full-size tensors and views sized for the epoch's last batch.
  struct Slot {
    Tensor images, labels;            // [B, C, H, W], [B]
    Tensor tail_images, tail_labels;  // [N % B, ...] views of the same memory
    std::vector<std::int64_t> indices;
    std::int64_t epoch = 0, batch = 0, count = 0;
    std::int64_t ready = -1;   // the batch this slot holds, once complete
    std::exception_ptr error;  // preparing it failed
  };
  // One worker's scratch: a decoded sample at the sample shape, and the resizer's buffers.
  struct Scratch {
    Tensor sample;  // u8 [C, H, W]
    GeometryScratch geometry;
  };

  void worker_loop(int worker);
  void fill(Slot& slot, std::int64_t epoch, std::int64_t batch, Scratch& scratch);
  // Sample `position` of the epoch's order as u8 pixels (a view of memory, or decoded into
  // scratch.sample); returns the index of the sample used (another one when skipping).
  std::int64_t read_sample(std::int64_t position, std::int64_t epoch, Scratch& scratch,
                           const std::uint8_t*& pixels);
  void stop_job(std::unique_lock<std::mutex>& lock);

  std::shared_ptr<const Source> source_;
  const Dataset* memory_ = nullptr;  // the source's in-memory images when they need no resizing
  LoaderOptions options_;
  std::int64_t size_ = 0, batches_ = 0;
  Shape sample_shape_;
  std::vector<std::int32_t> labels_;  // the source's labels, read once
  std::vector<float> lut_;            // [C, 256]: normalized value of each pixel value, per channel
  std::vector<Slot> slots_;
  std::vector<std::int64_t> order_;  // the current epoch's order (read-only during a job)

  mutable std::mutex mutex_;
  std::condition_variable cv_;
  std::mutex hook_mutex_;  // the augment hook runs in one worker at a time
  std::vector<std::thread> workers_;
  bool shutdown_ = false;
  bool job_ = false;              // there is an epoch to produce
  int busy_ = 0;                  // workers inside a job (may be touching slots)
  std::uint64_t generation_ = 0;  // bumped by set_position; stale work is dropped
  std::int64_t epoch_ = 0;
  std::int64_t claimed_ = 0;   // next batch a worker may take
  std::int64_t consumed_ = 0;  // next batch to hand out
  std::int64_t released_ = 0;  // batches below this no longer occupy a slot
  bool started_ = false;
  std::exception_ptr error_;
  std::vector<std::string> skipped_;
};

}  // namespace convkit::data
