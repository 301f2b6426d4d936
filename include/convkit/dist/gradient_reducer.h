// GradientReducer: the gradient all-reduce of data-parallel training, overlapped with backward.
// Installed as the plan's gradient-ready hook, it gathers the finished gradients of consecutive
// layers into buckets (contiguous ranges of the flat gradient arena: backward runs in reverse
// graph order, the arena is laid out in graph order, so the ranges come downward and touch) and
// starts each bucket's all-reduce as soon as it holds bucket_floats values, while the earlier
// layers still run backward (PyTorch DDP's buckets, Horovod's fusion buffer, without a copy).
//
// Averaging is exact for unequal batches: each rank scales its gradients by its share of the
// step's samples (begin_step's weight = local samples / all ranks' samples) before the sum, so
// the result is the gradient of the mean loss over every sample of the step.
//
//   GradientReducer reducer(group, {.bucket_floats = 1 << 16});
//   reducer.bind(plan.parameter_block());
//   plan.set_gradient_ready_hook(reducer.hook());
//   plan.forward(); reducer.begin_step(64.0 / 128); plan.backward(); reducer.finish_step();
//   optimizer.step(plan.parameter_block());
#pragma once

#include <convkit/dist/process_group.h>
#include <convkit/tensor/param_block.h>

#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

namespace convkit::dist {

struct ReducerOptions {
  std::int64_t bucket_floats = 1 << 18;  // 1 MiB buckets
  // false: nothing is started during backward; finish_step reduces every bucket then (the
  // baseline that measures how much of the all-reduce the overlap hides).
  bool overlap = true;
};

struct ReducerStats {
  std::int64_t steps = 0;
  std::int64_t buckets = 0;  // all-reduces started, all steps
  std::int64_t floats = 0;   // values reduced, all steps
  double wait_seconds = 0;   // in finish_step: the all-reduce time not hidden by backward
};

class GradientReducer {
 public:
  GradientReducer(std::shared_ptr<ProcessGroup> group, ReducerOptions options = {});

  // The parameter block of the plan whose hook this is (again after every recompile): its slots
  // decide which ranges may share a bucket (no trainable slot may lie in a bucket's gaps).
  void bind(const ParamBlock& block);
  GradientReadyHook hook();

  // Before backward: this rank's share of the step's samples (its batch / the global batch).
  void begin_step(double weight);
  // After backward: reduces what is still pending and waits for every bucket of the step.
  void finish_step();

  const ReducerStats& stats() const { return stats_; }
  // The buckets of the last step, [offset, offset + numel) of the gradient arena, in start order.
  const std::vector<std::pair<std::int64_t, std::int64_t>>& last_buckets() const {
    return last_buckets_;
  }

 private:
  void on_ready(const GradientReady& ready);
  void close_bucket();  // records the pending bucket (and starts it when overlapping)
  void start(std::int64_t offset, std::int64_t numel);
  bool trainable_between(std::int64_t begin, std::int64_t end) const;

  std::shared_ptr<ProcessGroup> group_;
  ReducerOptions options_;
  std::vector<std::pair<std::int64_t, std::int64_t>> trainable_;  // [begin, end) sorted
  float* arena_ = nullptr;                                        // the gradient arena
  double weight_ = 1;
  std::int64_t low_ = 0, high_ = 0;  // the pending bucket; empty when equal
  bool in_step_ = false;
  std::vector<std::pair<std::int64_t, std::int64_t>> last_buckets_;
  ReducerStats stats_;
};

}  // namespace convkit::dist
