// Small value types shared by the augmentation transforms (augment.h), resizing and the sample
// geometry (geometry.h): a random interval and the interpolation modes.
#pragma once

namespace convkit::data {

// An interval [lo, hi] from which a factor is drawn uniformly.
struct Range {
  float lo = 0, hi = 0;
};

// Resampling with OpenCV's cv::resize conventions: Nearest takes src[floor(x * in / out)];
// Bilinear and Bicubic (Keys' kernel, a = -0.75) use half-pixel centers, (x + 0.5) * in / out -
// 0.5, and replicate the edge; Area averages each output pixel's footprint when shrinking (both
// axes) and otherwise weights the at most two source pixels it overlaps (INTER_AREA).
enum class Interpolation { Nearest, Bilinear, Bicubic, Area };

}  // namespace convkit::data
