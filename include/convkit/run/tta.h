// Test-time augmentation: a model's test probabilities averaged over variants of every image
// (the image itself, one-pixel shifts, a horizontal flip), for `convkit eval --tta` and the
// final test evaluation of `convkit train` (train.test_tta).
#pragma once

#include <convkit/data/dataset.h>
#include <convkit/tensor/tensor.h>
#include <convkit/train/predictor.h>

#include <string>
#include <vector>

namespace convkit::run {

// The modes both accept: none, shift (4 one-pixel shifts), flip (horizontal), shift+flip.
const std::vector<std::string>& tta_modes();

// Softmax probabilities [N, classes] of the predictor's model on `dataset`, averaged over the
// variants of `mode` (applied to the preprocessed batch; shifts fill with black). "none" is
// one plain pass. `plain`, when defined, is that pass already made (it is not run again).
Tensor predict_with_tta(train::Predictor& predictor, const data::Dataset& dataset,
                        const std::string& mode, const Tensor& plain = {});

}  // namespace convkit::run
