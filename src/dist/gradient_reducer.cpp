// Bucketed, overlapped gradient all-reduce (see include/convkit/dist/gradient_reducer.h).
#include <convkit/dist/gradient_reducer.h>
#include <convkit/util/error.h>

#include <algorithm>
#include <chrono>

namespace convkit::dist {

GradientReducer::GradientReducer(std::shared_ptr<ProcessGroup> group, ReducerOptions options)
    : group_(std::move(group)), options_(options) {
  if (!group_) fail("GradientReducer: no process group");
  if (options_.bucket_floats < 1)
    fail("GradientReducer: bucket_floats {} must be positive", options_.bucket_floats);
}

void GradientReducer::bind(const ParamBlock& block) {
  trainable_.clear();
  for (const ParamSlot& s : block.slots)
    if (s.trainable && s.numel > 0) trainable_.emplace_back(s.offset, s.offset + s.numel);
  std::sort(trainable_.begin(), trainable_.end());
  arena_ = const_cast<float*>(block.grads);
}

GradientReadyHook GradientReducer::hook() {
  return [this](const GradientReady& ready) { on_ready(ready); };
}

bool GradientReducer::trainable_between(std::int64_t begin, std::int64_t end) const {
  // The first slot ending after `begin`: it overlaps when it starts before `end`.
  auto it = std::upper_bound(trainable_.begin(), trainable_.end(), begin,
                             [](std::int64_t b, const auto& slot) { return b < slot.second; });
  return it != trainable_.end() && it->first < end;
}

void GradientReducer::begin_step(double weight) {
  if (!(weight > 0 && weight <= 1))
    fail("GradientReducer::begin_step: weight {} must be in (0, 1]", weight);
  weight_ = weight;
  low_ = high_ = 0;
  in_step_ = true;
  last_buckets_.clear();
}

void GradientReducer::start(std::int64_t offset, std::int64_t numel) {
  ++stats_.buckets;
  stats_.floats += numel;
  group_->start_all_reduce_sum(std::span<float>(arena_ + offset, std::size_t(numel)));
}

void GradientReducer::close_bucket() {
  if (high_ > low_) {
    last_buckets_.emplace_back(low_, high_ - low_);
    if (options_.overlap) start(low_, high_ - low_);  // else finish_step starts it
  }
  low_ = high_ = 0;
}

void GradientReducer::on_ready(const GradientReady& ready) {
  if (!in_step_) fail("GradientReducer: a gradient arrived outside begin_step/finish_step");
  if (ready.numel <= 0) return;
  if (weight_ != 1)
    for (float& g : ready.grads) g *= float(weight_);
  if (!arena_) arena_ = ready.grads.data() - ready.offset;
  const std::int64_t begin = ready.offset, end = ready.offset + ready.numel;
  if (high_ > low_ && end <= low_ && !trainable_between(end, low_)) {
    low_ = begin;  // the range below the bucket, with nothing trainable in between
  } else {
    close_bucket();
    low_ = begin;
    high_ = end;
  }
  if (high_ - low_ >= options_.bucket_floats) close_bucket();
  if (options_.overlap) group_->progress();
}

void GradientReducer::finish_step() {
  if (!in_step_) fail("GradientReducer::finish_step without begin_step");
  const auto begin = std::chrono::steady_clock::now();
  close_bucket();
  if (!options_.overlap)
    for (const auto& [offset, numel] : last_buckets_) start(offset, numel);
  group_->wait_all();
  stats_.wait_seconds +=
      std::chrono::duration<double>(std::chrono::steady_clock::now() - begin).count();
  ++stats_.steps;
  in_step_ = false;
}

}  // namespace convkit::dist
