// Flips (see flip.h).
#include "data/transforms/flip.h"

#include <algorithm>

namespace convkit::data::transforms {

void flip_horizontal(const Planes& image) {
  for (int k = 0; k < image.c; ++k)
    for (int r = 0; r < image.h; ++r) {
      float* row = image.channel(k) + std::int64_t(r) * image.w;
      std::reverse(row, row + image.w);
    }
}

void flip_vertical(const Planes& image) {
  for (int k = 0; k < image.c; ++k) {
    float* p = image.channel(k);
    for (int r = 0, s = image.h - 1; r < s; ++r, --s)
      std::swap_ranges(p + std::int64_t(r) * image.w, p + std::int64_t(r + 1) * image.w,
                       p + std::int64_t(s) * image.w);
  }
}

}  // namespace convkit::data::transforms
