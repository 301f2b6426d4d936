// Loader: W worker threads fill a ring of K = max(prefetch, W) + 1 preallocated batch slots;
// the caller takes them in epoch order. Batch b lives in slot b % K, so a worker may claim b
// only once the caller has released batch b - K (bounded queue, no allocation per batch).
// Workers claim batches in order and may finish them out of order; a slot records which batch
// it holds (`ready`) and any error preparing it, which next() rethrows when it reaches that
// batch. set_position cancels the running job (a generation counter), waits until no worker
// touches the slots, and starts a new one.
#include <convkit/data/augment.h>
#include <convkit/data/loader.h>
#include <convkit/util/rng.h>

#include <algorithm>
#include <cmath>
#include <set>

namespace convkit::data {

Loader::Loader(Dataset dataset, LoaderOptions options)
    : Loader(std::make_shared<DatasetSource>(std::move(dataset)), std::move(options)) {}

Loader::Loader(std::shared_ptr<const Source> source, LoaderOptions options)
    : source_(std::move(source)), options_(std::move(options)) {
  const std::string name = "Loader over " + source_->name();
  size_ = source_->size();
  if (size_ == 0) fail("{}: the dataset is empty", name);
  const std::optional<Shape> native = source_->image_shape();
  if (options_.geometry) {
    validate(*options_.geometry, name + ": geometry");
    sample_shape_ = options_.geometry->shape();
  } else if (native) {
    sample_shape_ = *native;
  } else {
    fail("{}: its images differ in size: give LoaderOptions::geometry (the sample size)", name);
  }
  if (sample_shape_.rank() != 3)
    fail("{}: samples must be [C, H, W], got {}", name, sample_shape_.str());
  const bool resizes = options_.geometry && (options_.geometry->random_crop.enabled || !native ||
                                             *native != sample_shape_);
  if (!resizes) memory_ = source_->in_memory();
  const std::int64_t c = sample_shape_[0];
  const std::int64_t bs = options_.batch_size;
  if (bs <= 0) fail("{}: batch_size {} must be positive", name, bs);
  if (options_.prefetch < 1) fail("{}: prefetch {} must be at least 1", name, options_.prefetch);
  if (options_.workers < 1 || options_.workers > 256)
    fail("{}: workers {} is out of range: expected 1 to 256", name, options_.workers);
  auto per_channel = [&](const std::vector<float>& v, const char* what) {
    if (v.size() != 1 && std::int64_t(v.size()) != c)
      fail("{}: {} has {} values: expected 1 or {} (one per channel)", name, what, v.size(), c);
  };
  per_channel(options_.mean, "mean");
  per_channel(options_.std, "std");
  for (float s : options_.std)
    if (!(std::isfinite(s) && s != 0.0f)) fail("{}: std {} must be finite and nonzero", name, s);

  if (options_.shards < 1 || options_.shard < 0 || options_.shard >= options_.shards)
    fail("{}: shard {} of {} is out of range", name, options_.shard, options_.shards);
  if (options_.shards > 1 && !options_.drop_last)
    fail("{}: sharding ({} shards) needs drop_last (every shard takes whole batches)", name,
         options_.shards);
  labels_ = source_->labels();
  batches_ = options_.drop_last ? size_ / (bs * options_.shards) : (size_ + bs - 1) / bs;
  lut_ = normalization_table(c, options_.mean, options_.std);
  const std::int64_t rows = std::min(bs, size_), tail = size_ % bs;
  slots_.resize(std::size_t(std::max(options_.prefetch, options_.workers)) + 1);
  for (Slot& s : slots_) {
    s.images =
        Tensor::empty({rows, sample_shape_[0], sample_shape_[1], sample_shape_[2]}, DType::f32);
    s.labels = Tensor::empty({rows}, DType::i32);
    if (tail > 0) {
      s.tail_images = s.images.slice(0, tail);
      s.tail_labels = s.labels.slice(0, tail);
    }
    s.indices.resize(std::size_t(rows));
  }
  order_.reserve(std::size_t(size_));
  for (int w = 0; w < options_.workers; ++w) workers_.emplace_back(&Loader::worker_loop, this, w);
}

Loader::~Loader() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    shutdown_ = true;
    ++generation_;
  }
  cv_.notify_all();
  for (auto& w : workers_) w.join();
}

std::vector<std::string> Loader::skipped() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return skipped_;
}

void Loader::epoch_order(std::int64_t epoch, std::vector<std::int64_t>& out) const {
  const std::int64_t n = size_;
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
  cv_.wait(lock, [&] { return busy_ == 0; });
}

void Loader::set_position(std::int64_t epoch, std::int64_t batch) {
  if (epoch < 0 || batch < 0 || batch > batches_)
    fail("Loader::set_position({}, {}): expected epoch >= 0 and batch in [0, {}]", epoch, batch,
         batches_);
  std::unique_lock<std::mutex> lock(mutex_);
  stop_job(lock);
  error_ = nullptr;
  for (Slot& s : slots_) {
    s.ready = -1;
    s.error = nullptr;
  }
  epoch_order(epoch, order_);  // no worker reads it while no job runs
  epoch_ = epoch;
  claimed_ = consumed_ = released_ = batch;
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
  if (error_) std::rethrow_exception(error_);  // stays set: the epoch cannot continue
  Slot& s = slots_[std::size_t(consumed_ % std::int64_t(slots_.size()))];
  const std::int64_t want = consumed_;
  cv_.wait(lock, [&] { return s.ready == want || shutdown_; });
  if (s.ready != want) fail("Loader::next: the loader is shutting down");
  if (s.error) {
    error_ = s.error;
    std::rethrow_exception(error_);
  }
  ++consumed_;
  const bool full = s.count == options_.batch_size;
  return BatchView{full ? s.images : s.tail_images, full ? s.labels : s.tail_labels,
                   std::span<const std::int64_t>(s.indices.data(), std::size_t(s.count)), s.epoch,
                   s.batch};
}

std::int64_t Loader::read_sample(std::int64_t position, std::int64_t epoch, Scratch& scratch,
                                 const std::uint8_t*& pixels) {
  const std::int64_t chw = sample_shape_.numel();
  if (memory_) {
    const std::int64_t s = order_[std::size_t(position)];
    pixels = static_cast<const std::uint8_t*>(memory_->images.raw()) + s * chw;
    return s;
  }
  // A sample that cannot be read: with skip_unreadable the next ones in the epoch's order stand
  // in (the same for any number of workers), else the error names it.
  for (std::int64_t k = 0; k < size_; ++k) {
    const std::int64_t s = order_[std::size_t((position + k) % size_)];
    try {
      Tensor image = source_->image(s);
      if (options_.geometry) {
        prepare_image(image, *options_.geometry, scratch.sample, scratch.geometry,
                      options_.geometry->random_crop.enabled, options_.seed, std::uint64_t(epoch),
                      std::uint64_t(s));
      } else {
        if (image.dtype() != DType::u8 || image.shape() != sample_shape_)
          fail("{}: image is {} {}, the samples are u8 {}: give the loader a geometry",
               source_->sample_name(s), name_of(image.dtype()), image.shape().str(),
               sample_shape_.str());
        scratch.sample.copy_from(image.is_contiguous() ? image : image.clone());
      }
      pixels = static_cast<const std::uint8_t*>(scratch.sample.raw());
      return s;
    } catch (const Error& e) {
      if (!options_.skip_unreadable) throw SampleError(e.what());
      std::lock_guard<std::mutex> lock(mutex_);
      const std::string what = e.what();
      if (std::find(skipped_.begin(), skipped_.end(), what) == skipped_.end())
        skipped_.push_back(what);
    }
  }
  fail("{}: none of its {} images could be read (the first: {})", source_->name(), size_,
       skipped_.empty() ? "?" : skipped_.front());
}

void Loader::fill(Slot& slot, std::int64_t epoch, std::int64_t batch, Scratch& scratch) {
  const std::int64_t bs = options_.batch_size, c = sample_shape_[0];
  const std::int64_t hw = sample_shape_[1] * sample_shape_[2];
  const std::int64_t first_row = options_.shard * bs;
  const std::int64_t begin = batch * bs * options_.shards + first_row;
  const std::int64_t count = std::min(bs, size_ - begin);
  slot.epoch = epoch;
  slot.batch = batch;
  slot.count = count;
  float* dst = slot.images.data<float>();
  std::int32_t* labels = slot.labels.data<std::int32_t>();
  for (std::int64_t i = 0; i < count; ++i) {
    const std::uint8_t* src = nullptr;
    const std::int64_t s = read_sample(begin + i, epoch, scratch, src);
    slot.indices[std::size_t(i)] = s;
    labels[i] = labels_[std::size_t(s)];
    for (std::int64_t ch = 0; ch < c; ++ch) {
      const float* lut = lut_.data() + ch * 256;
      const std::uint8_t* in = src + ch * hw;
      float* out = dst + (i * c + ch) * hw;
      for (std::int64_t j = 0; j < hw; ++j) out[j] = lut[in[j]];
    }
  }
  if (options_.augment) {
    std::lock_guard<std::mutex> hook(hook_mutex_);
    options_.augment(count == bs ? slot.images : slot.tail_images, std::uint64_t(epoch),
                     std::uint64_t(batch), std::uint64_t(first_row));
  }
}

void Loader::worker_loop(int /*worker*/) {
  Scratch scratch;
  scratch.sample = Tensor::empty(sample_shape_, DType::u8);
  const auto k = std::int64_t(slots_.size());
  std::unique_lock<std::mutex> lock(mutex_);
  for (;;) {
    cv_.wait(lock, [&] {
      return shutdown_ || (job_ && claimed_ < batches_ && claimed_ - released_ < k);
    });
    if (shutdown_) return;
    const std::int64_t b = claimed_++, epoch = epoch_;
    const std::uint64_t gen = generation_;
    Slot& slot = slots_[std::size_t(b % k)];
    ++busy_;
    lock.unlock();
    std::exception_ptr err;
    try {
      fill(slot, epoch, b, scratch);
    } catch (...) {
      err = std::current_exception();
    }
    lock.lock();
    --busy_;
    if (generation_ == gen) {
      slot.error = err;
      slot.ready = b;
      if (err) job_ = false;  // nothing after a failed batch is prepared
    }
    cv_.notify_all();
  }
}

}  // namespace convkit::data
