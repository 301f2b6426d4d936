// The training step, forward + backward + update, for one process. Its parts are separate calls
// so a distributed run can put the gradient all-reduce between backward and the update, or
// overlap it with backward from the gradient-ready hook:
//
//   plan.forward();                          // loss and logits for plan.input()/labels()
//   plan.backward();                         // gradients into plan.parameter_block().grads;
//                                            // the hook (set_gradient_ready_hook) fires per layer
//   ... all-reduce plan.parameter_block().grads (or wait for the reductions the hook started) ...
//   optimizer.step(plan.parameter_block());  // the update, on the gradients as they are now
//
// Learning-rate multipliers and frozen layers (nn::Model::set_lr_multiplier, set_trainable)
// travel in the block's slots, so every optimizer applies them in step().
#pragma once

#include <convkit/nn/model.h>
#include <convkit/optim/optimizer.h>

namespace convkit::train {

// forward, backward and optimizer.step over the plan's model; returns the loss. Throws Error on
// an inference plan.
float train_step(nn::Plan& plan, optim::Optimizer& optimizer);

}  // namespace convkit::train
