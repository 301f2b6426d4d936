// Training a new head on a frozen base (transfer learning) runs the base once per image: its
// outputs are cached in memory and every later epoch trains the head on them alone.
//   FitOptions::frozen_base = std::make_shared<FrozenBase>(FrozenBase{base, head});
// `base` maps images to features (it runs as an inference plan: BatchNorm on its running
// statistics, no dropout, as Keras runs frozen layers); `head` maps features to logits and its
// parameters have the names they have in the full model the Trainer trains, which fit() keeps
// in step with the head (before each epoch's validation and checkpoints, and at the end).
// Not with augmentation, mixup/cutmix or weight averaging (each image's features must not
// change between epochs, and the averaged weights are the full model's).
#pragma once

#include <convkit/nn/model.h>

namespace convkit::train {

struct FrozenBase {
  nn::Model base;
  nn::Model head;
};

}  // namespace convkit::train
