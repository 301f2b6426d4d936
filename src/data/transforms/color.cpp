// Brightness and contrast (see color.h). The sample is held in pixel units between the steps.
#include "data/transforms/color.h"

namespace convkit::data::transforms {

void adjust_brightness_contrast(const Planes& image, const Normalization& norm, float brightness,
                                float contrast) {
  const std::int64_t n = image.plane();
  // Pass 1: to pixels, brightness, clamp; accumulate the grey mean for the contrast step.
  double grey = 0;
  for (int k = 0; k < image.c; ++k) {
    float* p = image.channel(k);
    const float scale = norm.std[k] * 255.0f * brightness,
                shift = norm.mean[k] * 255.0f * brightness;
    float sum = 0;
#pragma omp simd reduction(+ : sum)
    for (std::int64_t i = 0; i < n; ++i) {
      const float v = std::clamp(p[i] * scale + shift, 0.0f, 255.0f);
      p[i] = v;
      sum += v;
    }
    const double weight = image.c == 3 ? (k == 0 ? 0.299 : k == 1 ? 0.587 : 0.114) : 1.0 / image.c;
    grey += weight * sum;
  }
  const float mean = float(grey / double(n));
  const float f = contrast, offset = (1.0f - contrast) * mean;
  // Pass 2: contrast, clamp, back to normalized values.
  for (int k = 0; k < image.c; ++k) {
    float* p = image.channel(k);
    const float inv = 1.0f / (255.0f * norm.std[k]), m = norm.mean[k] / norm.std[k];
    if (contrast == 1.0f) {
#pragma omp simd
      for (std::int64_t i = 0; i < n; ++i) p[i] = p[i] * inv - m;
    } else {
#pragma omp simd
      for (std::int64_t i = 0; i < n; ++i)
        p[i] = std::clamp(f * p[i] + offset, 0.0f, 255.0f) * inv - m;
    }
  }
}

}  // namespace convkit::data::transforms
