// Random crop with padding: the sample is padded by P pixels on every side (fill mode) and an
// H x W window is cut back out at offset (oy, ox) in [0, 2P] x [0, 2P].
#pragma once

#include "data/transforms/image.h"

namespace convkit::data::transforms {

// dst(r, c) = padded src at (r + oy - P, c + ox - P); src and dst must not overlap.
void pad_crop(const Planes& src, const Planes& dst, int padding, int oy, int ox, FillMode mode,
              const float* fill);

}  // namespace convkit::data::transforms
