// Loader: a worker thread fills a ring of K = prefetch + 1 preallocated batch slots in epoch
// order; the caller takes them in order. Batch b lives in slot b % K, so the worker may fill b
// only once the caller has released batch b - K (bounded queue, no allocation per batch).
// set_position cancels the running job (a generation counter), waits until the worker no longer
// touches the slots, and starts a new one.
#include <convkit/data/augment.h>
#include <convkit/data/loader.h>
#include <convkit/util/rng.h>

#include <algorithm>
#include <cmath>

namespace convkit::data {

Loader::Loader(Dataset dataset, LoaderOptions options)
    : dataset_(std::move(dataset)), options_(std::move(options)) {
  const Tensor& x = dataset_.images;
  const std::string name = dataset_.name.empty() ? "dataset" : dataset_.name;
  if (!x.defined() || x.dtype() != DType::u8 || x.rank() != 4 || !x.is_contiguous())
    fail("Loader over {}: images must be contiguous u8 [N, C, H, W]", name);
  const std::int64_t n = x.dim(0), c = x.dim(1);
  if (!dataset_.labels.defined() || dataset_.labels.dtype() != DType::i32 ||
      dataset_.labels.shape() != Shape{n})
    fail("Loader over {}: labels must be i32 [{}] to match the images {}", name, n,
         x.shape().str());
  if (n == 0) fail("Loader over {}: the dataset is empty", name);
  const std::int64_t bs = options_.batch_size;
  if (bs <= 0) fail("Loader over {}: batch_size {} must be positive", name, bs);
  if (options_.prefetch < 1)
    fail("Loader over {}: prefetch {} must be at least 1", name, options_.prefetch);
  auto per_channel = [&](const std::vector<float>& v, const char* what) {
    if (v.size() != 1 && std::int64_t(v.size()) != c)
      fail("Loader over {}: {} has {} values: expected 1 or {} (one per channel)", name, what,
           v.size(), c);
  };
  per_channel(options_.mean, "mean");
  per_channel(options_.std, "std");
  for (float s : options_.std)
    if (!(std::isfinite(s) && s != 0.0f))
      fail("Loader over {}: std {} must be finite and nonzero", name, s);

  batches_ = options_.drop_last ? n / bs : (n + bs - 1) / bs;
  lut_ = normalization_table(c, options_.mean, options_.std);
  const std::int64_t rows = std::min(bs, n), tail = n % bs;
  slots_.resize(std::size_t(options_.prefetch) + 1);
  for (Slot& s : slots_) {
    s.images = Tensor::empty(x.shape().with_batch(rows), DType::f32);
    s.labels = Tensor::empty({rows}, DType::i32);
    if (tail > 0) {
      s.tail_images = s.images.slice(0, tail);
      s.tail_labels = s.labels.slice(0, tail);
    }
    s.indices.resize(std::size_t(rows));
  }
  order_.reserve(std::size_t(n));
  worker_ = std::thread(&Loader::worker_loop, this);
}

Loader::~Loader() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    shutdown_ = true;
    ++generation_;
  }
  cv_.notify_all();
  worker_.join();
}

void Loader::epoch_order(std::int64_t epoch, std::vector<std::int64_t>& out) const {
  const std::int64_t n = dataset_.size();
  if (!options_.shuffle) {
    out.resize(std::size_t(n));
    for (std::int64_t i = 0; i < n; ++i) out[i] = i;
    return;
  }
  // The epoch's key depends on (seed, epoch) only.
  auto r = philox(derive_key(options_.seed, "data.loader.shuffle"), std::uint64_t(epoch));
  random_permutation(n, std::uint64_t(r[0]) << 32 | r[1], out);
}

void Loader::stop_job(std::unique_lock<std::mutex>& lock) {
  job_ = false;
  ++generation_;
  cv_.notify_all();
  cv_.wait(lock, [&] { return !busy_; });
}

void Loader::set_position(std::int64_t epoch, std::int64_t batch) {
  if (epoch < 0 || batch < 0 || batch > batches_)
    fail("Loader::set_position({}, {}): expected epoch >= 0 and batch in [0, {}]", epoch, batch,
         batches_);
  std::unique_lock<std::mutex> lock(mutex_);
  stop_job(lock);
  error_ = nullptr;
  epoch_ = epoch;
  start_ = produced_ = consumed_ = released_ = batch;
  started_ = true;
  job_ = true;
  cv_.notify_all();
}

std::optional<BatchView> Loader::next() {
  std::unique_lock<std::mutex> lock(mutex_);
  if (!started_) fail("Loader::next: call start_epoch or set_position first");
  released_ = consumed_;  // the batch handed out last time may now be overwritten
  cv_.notify_all();
  if (consumed_ >= batches_) return std::nullopt;
  cv_.wait(lock, [&] { return produced_ > consumed_ || error_ || shutdown_; });
  if (produced_ <= consumed_) {
    if (error_) std::rethrow_exception(error_);  // stays set: the epoch cannot continue
    fail("Loader::next: the loader is shutting down");
  }
  Slot& s = slots_[std::size_t(consumed_ % std::int64_t(slots_.size()))];
  ++consumed_;
  const bool full = s.count == options_.batch_size;
  return BatchView{full ? s.images : s.tail_images, full ? s.labels : s.tail_labels,
                   std::span<const std::int64_t>(s.indices.data(), std::size_t(s.count)), s.epoch,
                   s.batch};
}

void Loader::fill(Slot& slot, std::int64_t epoch, std::int64_t batch) {
  const Tensor& x = dataset_.images;
  const std::int64_t bs = options_.batch_size, n = x.dim(0), c = x.dim(1);
  const std::int64_t hw = x.dim(2) * x.dim(3);
  const std::int64_t begin = batch * bs, count = std::min(bs, n - begin);
  slot.epoch = epoch;
  slot.batch = batch;
  slot.count = count;
  const auto* src = static_cast<const std::uint8_t*>(x.raw());
  const std::int32_t* y = dataset_.labels.data<std::int32_t>();
  float* dst = slot.images.data<float>();
  std::int32_t* labels = slot.labels.data<std::int32_t>();
  for (std::int64_t i = 0; i < count; ++i) {
    const std::int64_t s = order_[std::size_t(begin + i)];
    slot.indices[std::size_t(i)] = s;
    labels[i] = y[s];
    for (std::int64_t ch = 0; ch < c; ++ch) {
      const float* lut = lut_.data() + ch * 256;
      const std::uint8_t* in = src + (s * c + ch) * hw;
      float* out = dst + (i * c + ch) * hw;
      for (std::int64_t j = 0; j < hw; ++j) out[j] = lut[in[j]];
    }
  }
  if (options_.augment)
    options_.augment(count == bs ? slot.images : slot.tail_images, std::uint64_t(epoch),
                     std::uint64_t(batch));
}

void Loader::worker_loop() {
  const auto k = std::int64_t(slots_.size());
  std::unique_lock<std::mutex> lock(mutex_);
  for (;;) {
    cv_.wait(lock, [&] { return shutdown_ || job_; });
    if (shutdown_) return;
    busy_ = true;
    const std::uint64_t gen = generation_;
    const std::int64_t epoch = epoch_;
    lock.unlock();
    std::exception_ptr err;
    try {
      epoch_order(epoch, order_);
    } catch (...) {
      err = std::current_exception();
    }
    lock.lock();
    if (err && generation_ == gen) error_ = err;
    while (!error_ && !shutdown_ && generation_ == gen && produced_ < batches_) {
      const std::int64_t b = produced_;
      cv_.wait(lock, [&] { return shutdown_ || generation_ != gen || b - released_ < k; });
      if (shutdown_ || generation_ != gen) break;
      Slot& slot = slots_[std::size_t(b % k)];
      lock.unlock();
      try {
        fill(slot, epoch, b);
      } catch (...) {
        err = std::current_exception();
      }
      lock.lock();
      if (generation_ != gen) break;
      if (err)
        error_ = err;
      else
        produced_ = b + 1;
      cv_.notify_all();
    }
    busy_ = false;
    if (generation_ == gen) job_ = false;  // finished (or failed); wait for the next job
    cv_.notify_all();
  }
}

}  // namespace convkit::data
