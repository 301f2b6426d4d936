// convkit: the umbrella header of the public C++ API.
#pragma once

#include <convkit/nn/layers.h>
#include <convkit/nn/model.h>
#include <convkit/nn/value.h>
#include <convkit/optim/optimizer.h>
#include <convkit/tensor/arena.h>
#include <convkit/tensor/init.h>
#include <convkit/tensor/param_block.h>
#include <convkit/tensor/tensor.h>
#include <convkit/train/step.h>
#include <convkit/util/error.h>
#include <convkit/util/rng.h>
