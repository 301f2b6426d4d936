// FeatureCache (internal to train/): the frozen base's output for every training sample, filled
// from the loader's batches in the first epoch (and after a resume), then read by index.
#pragma once

#include <convkit/data/loader.h>
#include <convkit/optim/optimizer.h>
#include <convkit/train/feature_cache.h>

#include <span>
#include <vector>

namespace convkit::train {

class FeatureCache {
 public:
  // `samples` training samples, features computed `batch` images at a time on `backend`.
  FeatureCache(FrozenBase& frozen, nn::Model& full, std::int64_t samples, std::int64_t batch,
               const std::string& backend, std::vector<std::int32_t> labels);

  bool complete() const { return missing_ == 0; }
  std::vector<std::int64_t> missing() const;  // the samples not cached yet
  // The features of a loader batch over a subset of the samples: `indices` maps the batch's
  // indices (into the subset) to the training samples'.
  void features(const data::BatchView& batch, std::span<const std::int64_t> indices);
  // The features of a loader batch into dst [b, F...] (the missing ones through the base).
  void features(const data::BatchView& batch, const Tensor& dst);
  // Cached features and labels of `indices` (all cached) into dst and labels [b].
  void gather(std::span<const std::int64_t> indices, const Tensor& dst, const Tensor& labels) const;
  // The training step of the head: forward and backward on `head_plan`, then the optimizer on
  // the full model's parameter block (the head's gradients copied into it; frozen slots are
  // skipped), so optimizer state and checkpoints are the full model's; the updated values
  // are copied back into the head. Returns the loss.
  float train_step(nn::Plan& head_plan, optim::Optimizer& optimizer);
  // The full model's head parameters into the head (before the first step).
  void from_full_model() const;
  std::int64_t bytes() const { return features_.numel() * 4; }

 private:
  FrozenBase& frozen_;
  nn::Model& full_;
  nn::Plan base_plan_;
  Tensor features_;  // f32 [samples, F]
  std::int64_t row_ = 0;
  std::vector<char> have_;
  std::int64_t missing_;
  std::vector<std::int32_t> labels_;
  struct Pair {
    Tensor head_value, head_grad, full_value, full_grad;
  };
  std::vector<Pair> pairs_;
};

}  // namespace convkit::train
