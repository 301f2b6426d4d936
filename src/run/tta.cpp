// Test-time augmentation variants and their averaged prediction (see tta.h).
#include <convkit/run/tta.h>

#include <convkit/util/error.h>

#include <algorithm>
#include <functional>

namespace convkit::run {

namespace {

using Variant = std::function<void(const Tensor&)>;

// Shifts every image of a preprocessed batch [B, C, H, W] by (dx, dy) pixels, filling the
// uncovered border with each channel's value of a black pixel.
Variant shift(int dx, int dy, std::vector<float> fill) {
  return [dx, dy, fill](const Tensor& batch) {
    const std::int64_t b = batch.dim(0), c = batch.dim(1), h = batch.dim(2), w = batch.dim(3);
    float* x = batch.data<float>();
    std::vector<float> plane(std::size_t(h * w));
    for (std::int64_t n = 0; n < b; ++n)
      for (std::int64_t k = 0; k < c; ++k) {
        float* p = x + (n * c + k) * h * w;
        const float f = fill[std::size_t(k) % fill.size()];
        for (std::int64_t y = 0; y < h; ++y)
          for (std::int64_t xx = 0; xx < w; ++xx) {
            const std::int64_t sy = y - dy, sx = xx - dx;
            plane[std::size_t(y * w + xx)] =
                sy >= 0 && sy < h && sx >= 0 && sx < w ? p[sy * w + sx] : f;
          }
        std::copy(plane.begin(), plane.end(), p);
      }
  };
}

void flip_horizontal(const Tensor& batch) {
  const std::int64_t rows = batch.dim(0) * batch.dim(1) * batch.dim(2), w = batch.dim(3);
  float* x = batch.data<float>();
  for (std::int64_t r = 0; r < rows; ++r) std::reverse(x + r * w, x + (r + 1) * w);
}

std::vector<Variant> variants(const std::string& mode, const train::Preprocess& pre) {
  const auto& modes = tta_modes();
  if (std::find(modes.begin(), modes.end(), mode) == modes.end())
    fail("test-time augmentation must be none, shift, flip or shift+flip, got '{}'", mode);
  std::vector<Variant> out{Variant{}};  // the image itself
  std::vector<float> black;
  for (std::size_t k = 0; k < pre.mean.size(); ++k) black.push_back(pre.black(std::int64_t(k)));
  if (mode == "shift" || mode == "shift+flip")
    for (auto [dx, dy] : {std::pair{1, 0}, {-1, 0}, {0, 1}, {0, -1}})
      out.push_back(shift(dx, dy, black));
  if (mode == "flip" || mode == "shift+flip") out.push_back(flip_horizontal);
  return out;
}

}  // namespace

const std::vector<std::string>& tta_modes() {
  static const std::vector<std::string> modes{"none", "shift", "flip", "shift+flip"};
  return modes;
}

Tensor predict_with_tta(train::Predictor& predictor, const data::Dataset& dataset,
                        const std::string& mode, const Tensor& plain) {
  const auto list = variants(mode, predictor.preprocess());
  Tensor sum;
  for (const auto& variant : list) {
    Tensor p = !variant && plain.defined() ? plain.clone() : predictor.predict(dataset, variant);
    if (!sum.defined()) {
      sum = std::move(p);
      continue;
    }
    float* s = sum.data<float>();
    const float* q = p.data<float>();
    for (std::int64_t i = 0; i < p.numel(); ++i) s[i] += q[i];
  }
  if (list.size() > 1) {
    float* s = sum.data<float>();
    for (std::int64_t i = 0; i < sum.numel(); ++i) s[i] /= float(list.size());
  }
  return sum;
}

}  // namespace convkit::run
