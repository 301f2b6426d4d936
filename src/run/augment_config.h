// The `dataset.augment:` section of a run config, parsed strictly into data::AugmentOptions.
//
//   dataset:
//     augment:
//       rotation: 10          # degrees
//       width_shift: 0.1      # fraction of the width
//       height_shift: 0.1
//       shear: 5              # degrees
//       zoom: 0.1             # [0.9, 1.1]; or a list [lo, hi]
//       fill_mode: constant   # constant | nearest | reflect
//       fill_value: 0         # pixel units 0..255
//       horizontal_flip: true # true = probability 0.5, or a probability
//       brightness: 0.2       # factor in [0.8, 1.2]; or [lo, hi]
//       contrast: 0.2
//       crop_padding: 4       # pixels
//       cutout: {size: 8, probability: 0.5, fill_value: 0}   # size: pixels or [lo, hi]
//       elastic: {alpha: 34, sigma: 4, probability: 0.5}
//       mixup: 0.2            # Beta(alpha, alpha); needs soft targets in the trainer
//       cutmix: 1.0
#pragma once

#include "run/yaml_section.h"

#include <convkit/data/augment.h>

namespace convkit::run {

// Reads every key of `section` (the dataset.augment mapping; an empty section gives the
// defaults, everything off), rejects unknown keys and out-of-range values with a ConfigError
// naming the key, and returns the validated options.
data::AugmentOptions parse_augment(YamlSection& section);

}  // namespace convkit::run
