// The dataset keys about reading images, parsed strictly into run::ImageDataConfig (config.h):
//
//   dataset:
//     name: folder            # folder (root/<class>/*.jpg, or root/{train,val,test}/<class>/)
//                             # or csv (path,label lists); registry names and idx take the
//                             # sizing keys too
//     path: photos/           # the folder, or the training CSV; default: --data DIR
//     test: test.csv          # csv only: the test list (a folder uses root/test/)
//     validation: val.csv     # csv only: the validation list (a folder uses root/val/)
//     test_split: 0.1         # no test part: a stratified hold-out of the training images
//     resize: stretch         # stretch | center_crop | letterbox (to model.input's size)
//     interpolation: bilinear # nearest | bilinear | bicubic | area
//     crop_fraction: 0.875    # center_crop: the crop's share of the resized shorter side
//     fill: 0                 # letterbox padding, pixel units
//     random_resized_crop: true   # training only; or {scale: [0.08, 1], ratio: [0.75, 1.333]}
//     cache: true             # decode once into a memory-mapped file (or a path); later
//                             # epochs and runs read it as fast as IDX (no random_resized_crop)
//     workers: 2              # loader threads decoding and resizing
//     on_error: fail          # fail | skip: a file that cannot be read ends the run, or is
//                             # left out and named on stderr
#pragma once

#include "run/yaml_section.h"

#include <convkit/run/config.h>

namespace convkit::run {

// Reads the keys above from `dataset` (others stay for the caller) into `out`; out-of-range
// values are ConfigErrors naming the key.
void parse_image_data(YamlSection& dataset, ImageDataConfig& out);

}  // namespace convkit::run
