// Loader: turns a Dataset into normalized f32 batches on a background worker thread.
// Each epoch visits every sample once, in an order fixed by (seed, epoch) alone, so a run is
// reproducible for any thread count and can resume mid-epoch with set_position. The worker
// fills a small ring of preallocated batch slots ahead of the caller (a bounded queue), so after
// construction no batch allocates. Batches: images f32 [B, C, H, W] = (x / 255 - mean) / std per
// channel, labels i32 [B], and the dataset indices of the samples (B = batch size; the last
// batch of an epoch may be smaller unless drop_last).
// One thread drives a Loader (start_epoch/set_position/next); the worker is internal.
//
//   Loader loader(train, {.batch_size = 64, .seed = 1, .mean = {0.1307f}, .std = {0.3081f}});
//   for (std::int64_t epoch = 0; epoch < epochs; ++epoch) {
//     loader.start_epoch(epoch);
//     while (auto batch = loader.next()) step(batch->images, batch->labels);
//   }
#pragma once

#include <convkit/data/dataset.h>

#include <condition_variable>
#include <cstdint>
#include <exception>
#include <functional>
#include <mutex>
#include <optional>
#include <span>
#include <thread>
#include <vector>

namespace convkit::data {

// Called in the worker thread on each normalized batch before it is handed out (augmentation).
using BatchHook =
    std::function<void(Tensor& batch_f32, std::uint64_t epoch, std::uint64_t batch_index)>;

struct LoaderOptions {
  std::int64_t batch_size = 32;
  bool shuffle = true;
  std::uint64_t seed = 0;
  bool drop_last = false;
  std::vector<float> mean = {0.0f};  // per channel, or one value for all channels
  std::vector<float> std = {1.0f};
  BatchHook augment;  // optional
  int prefetch = 2;   // batches prepared ahead of the one the caller holds
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
  std::int64_t size() const { return dataset_.size(); }
  const Dataset& dataset() const { return dataset_; }
  const LoaderOptions& options() const { return options_; }

  // The sample order of `epoch` (what the batches of that epoch visit, in order).
  void epoch_order(std::int64_t epoch, std::vector<std::int64_t>& out) const;

 private:
  // One preallocated batch: full-size tensors and views sized for the epoch's last batch.
  struct Slot {
    Tensor images, labels;            // [B, C, H, W], [B]
    Tensor tail_images, tail_labels;  // [N % B, ...] views of the same memory
    std::vector<std::int64_t> indices;
    std::int64_t epoch = 0, batch = 0, count = 0;
  };

  void worker_loop();
  void fill(Slot& slot, std::int64_t epoch, std::int64_t batch);
  void stop_job(std::unique_lock<std::mutex>& lock);

  Dataset dataset_;
  LoaderOptions options_;
  std::int64_t batches_ = 0;
  std::vector<float> lut_;  // [C, 256]: normalized value of each pixel value, per channel
  std::vector<Slot> slots_;
  std::vector<std::int64_t> order_;  // the current epoch's order (worker-owned during a job)

  std::mutex mutex_;
  std::condition_variable cv_;
  std::thread worker_;
  bool shutdown_ = false;
  bool job_ = false;              // the worker has an epoch to produce
  bool busy_ = false;             // the worker is inside a job (may be touching slots)
  std::uint64_t generation_ = 0;  // bumped by set_position; stale work is dropped
  std::int64_t epoch_ = 0;
  std::int64_t start_ = 0;     // first batch of the job
  std::int64_t produced_ = 0;  // batches [start_, produced_) are ready or consumed
  std::int64_t consumed_ = 0;  // next batch to hand out
  std::int64_t released_ = 0;  // batches below this no longer occupy a slot
  bool started_ = false;
  std::exception_ptr error_;
};

}  // namespace convkit::data
