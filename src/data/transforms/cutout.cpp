// Cutout (see cutout.h).
#include "data/transforms/cutout.h"

namespace convkit::data::transforms {

void erase_box(const Planes& image, int top, int left, int height, int width, const float* fill) {
  const int r0 = std::max(top, 0), r1 = std::min(top + height, image.h);
  const int c0 = std::max(left, 0), c1 = std::min(left + width, image.w);
  if (r0 >= r1 || c0 >= c1) return;
  for (int k = 0; k < image.c; ++k)
    for (int r = r0; r < r1; ++r) {
      float* row = image.channel(k) + std::int64_t(r) * image.w;
      std::fill(row + c0, row + c1, fill[k]);
    }
}

}  // namespace convkit::data::transforms
