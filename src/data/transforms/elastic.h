// Elastic distortion (Simard, Steinkraus & Platt 2003, "Best practices for convolutional neural
// networks applied to visual document analysis"): random displacement fields dy, dx [H, W] drawn
// uniform in [-1, 1], smoothed by a separable Gaussian of std sigma and scaled by alpha; the
// output at (r, c) is the bilinear sample of the input at (r + dy, c + dx).
#pragma once

#include "data/transforms/image.h"
#include "data/transforms/sample_rng.h"

#include <span>
#include <vector>

namespace convkit::data::transforms {

// A normalized Gaussian of std `sigma`, truncated at 4 sigma: 2 * radius + 1 taps.
std::vector<float> gaussian_kernel(float sigma);

// Floats of scratch gaussian_blur needs: the row-filtered field with `radius` reflected rows on
// each side, and one row padded likewise.
inline std::int64_t blur_scratch(int h, int w, std::span<const float> kernel) {
  const std::int64_t taps = std::int64_t(kernel.size());
  return (h + taps) * std::int64_t(w) + w + taps + 8;  // + 8: the last block reads past a row
}

// Blurs `field` [H, W] in place with `kernel` along rows then columns (edges reflected, as
// FillMode::Reflect); `tmp` holds blur_scratch(h, w, kernel) floats.
void gaussian_blur(float* field, float* tmp, int h, int w, std::span<const float> kernel);

// Draws the two smoothed fields of one sample: uniform values from `rng` (draws 4 onward; draw
// 0 is left for the transform's probability), blurred, times alpha. dy, dx: H * W floats; tmp:
// blur_scratch(h, w, kernel) floats.
void random_displacements(const SampleRng& rng, int h, int w, float alpha,
                          std::span<const float> kernel, float* dy, float* dx, float* tmp);

// dst(r, c) = bilinear sample of src at (r + dy[r, c], c + dx[r, c]); no overlap of src and dst.
void displace(const Planes& src, const Planes& dst, const float* dy, const float* dx, FillMode mode,
              const float* fill);

}  // namespace convkit::data::transforms
