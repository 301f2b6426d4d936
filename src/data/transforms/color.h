// Brightness and contrast jitter in pixel space (torchvision's ColorJitter semantics) on a
// normalized sample: values are mapped back to pixels p in [0, 255], adjusted, clamped and
// re-normalized.
#pragma once

#include "data/transforms/image.h"

namespace convkit::data::transforms {

// p <- clamp(brightness * p); then p <- clamp(contrast * p + (1 - contrast) * m), where m is the
// mean grey level of the brightened sample (BT.601 luma when C = 3, the channel mean otherwise).
// A factor of 1 skips its step.
void adjust_brightness_contrast(const Planes& image, const Normalization& norm, float brightness,
                                float contrast);

}  // namespace convkit::data::transforms
