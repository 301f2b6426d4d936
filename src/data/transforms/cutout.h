// Cutout / random erasing: a square filled with a constant, clipped at the image borders.
#pragma once

#include "data/transforms/image.h"

namespace convkit::data::transforms {

// Fills rows [top, top + height) x columns [left, left + width), clipped to the image, with
// fill[k] in channel k.
void erase_box(const Planes& image, int top, int left, int height, int width, const float* fill);

}  // namespace convkit::data::transforms
