// Horizontal and vertical flips of one sample, in place.
#pragma once

#include "data/transforms/image.h"

namespace convkit::data::transforms {

void flip_horizontal(const Planes& image);  // column c <-> W - 1 - c
void flip_vertical(const Planes& image);    // row r <-> H - 1 - r

}  // namespace convkit::data::transforms
