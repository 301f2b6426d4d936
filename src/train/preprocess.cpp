// Preprocess: pixel normalization shared by prediction and reports (see preprocess.h).
#include <convkit/train/preprocess.h>

#include <convkit/data/augment.h>

namespace convkit::train {

void Preprocess::apply(const Tensor& images_u8, const Tensor& dst_f32) const {
  data::normalize(images_u8, dst_f32, mean, std);
}

float Preprocess::black(std::int64_t c) const {
  const std::size_t m = std::size_t(c) % mean.size(), s = std::size_t(c) % std.size();
  return (0.0f - mean[m]) / std[s];
}

}  // namespace convkit::train
