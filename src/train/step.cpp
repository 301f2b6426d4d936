// The single-process training step (see include/convkit/train/step.h).
#include <convkit/train/step.h>

namespace convkit::train {

float train_step(nn::Plan& plan, optim::Optimizer& optimizer) {
  plan.forward();
  plan.backward();
  optimizer.step(plan.parameter_block());
  return plan.loss();
}

}  // namespace convkit::train
