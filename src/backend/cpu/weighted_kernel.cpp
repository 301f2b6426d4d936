// WeightedKernel's forward/backward binding (see weighted_kernel.h).
#include "backend/cpu/weighted_kernel.h"

namespace convkit::backend::cpu {

void WeightedKernel::forward(const ForwardCall& call) {
  fwd_.bind(fx_, call.inputs[0]);
  fwd_.bind(fw_, call.params[0]);
  if (bias_) fwd_.bind(fb_, call.params[1]);
  fwd_.bind(fy_, call.outputs[0]);
  fwd_.run(call.scratch);
}

void WeightedKernel::backward(const BackwardCall& call) {
  if (bwd_.empty()) return;
  std::uint32_t groups = kPrologue;
  bwd_.bind(bdy_, call.grad_outputs[0]);
  if (by_ >= 0) bwd_.bind(by_, call.outputs[0]);
  if (bdx_ >= 0 && call.grad_inputs[0].defined()) {
    groups |= kData;
    bwd_.bind(bw_, call.params[0]);
    bwd_.bind(bdx_, call.grad_inputs[0]);
  }
  if (bdw_ >= 0 && call.grad_params[0].defined()) {
    groups |= kWeights;
    bwd_.bind(bx_, call.inputs[0]);
    bwd_.bind(bdw_, call.grad_params[0]);
    if (bias_) bwd_.bind(bdb_, call.grad_params[1]);
  }
  if (groups != kPrologue) bwd_.run(call.scratch, groups);
}

}  // namespace convkit::backend::cpu
