// Preprocess: how images become model inputs, x = (pixel / 255 - mean[c]) / std[c] (one value
// for every channel, or one per channel). A run records it beside its checkpoints so that
// evaluation and prediction feed the model exactly what training fed it.
#pragma once

#include <convkit/tensor/tensor.h>

#include <vector>

namespace convkit::train {

struct Preprocess {
  std::vector<float> mean{0.0f};
  std::vector<float> std{1.0f};

  // u8 [N, C, H, W] -> f32 [N, C, H, W] (dst preallocated, same shape).
  void apply(const Tensor& images_u8, const Tensor& dst_f32) const;
  // The input value of a black pixel in channel c (the fill of shifted test-time variants).
  float black(std::int64_t c) const;
};

}  // namespace convkit::train
