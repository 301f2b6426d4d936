// Add: y = x0 + x1 + ...; dL/dxi = dL/dy for every i.
#include "ops/add.h"

#include <cstring>

namespace convkit::ops {

std::vector<TensorSpec> Add::infer(std::span<const TensorSpec> inputs) const {
  if (inputs.size() < 2) shape_fail("Add takes at least 2 inputs, got {}", inputs.size());
  for (std::size_t i = 1; i < inputs.size(); ++i)
    if (inputs[i].shape != inputs[0].shape)
      shape_fail("Add needs inputs of one shape, got {} and {}", inputs[0].shape.str(),
                 inputs[i].shape.str());
  return {inputs[0]};
}

double Add::flops(std::span<const TensorSpec> inputs) const {
  return double(inputs.size() - 1) * double(inputs[0].shape.numel());
}

void Add::forward(const ForwardCall& call) const {
  float* y = call.outputs[0].data<float>();
  const std::int64_t n = call.outputs[0].numel();
  const float* x0 = call.inputs[0].data<float>();
  const float* x1 = call.inputs[1].data<float>();
#pragma omp parallel for simd schedule(static) if (n > 32768)
  for (std::int64_t i = 0; i < n; ++i) y[i] = x0[i] + x1[i];
  for (std::size_t k = 2; k < call.inputs.size(); ++k) {
    const float* xk = call.inputs[k].data<float>();
#pragma omp parallel for simd schedule(static) if (n > 32768)
    for (std::int64_t i = 0; i < n; ++i) y[i] += xk[i];
  }
}

void Add::backward(const BackwardCall& call) const {
  const Tensor& dy = call.grad_outputs[0];
  for (const Tensor& dx : call.grad_inputs)
    if (dx.defined()) std::memcpy(dx.raw(), dy.raw(), dy.nbytes());
}

std::shared_ptr<const Op> make_add(const Attrs&) {
  return std::make_shared<Add>();
}

}  // namespace convkit::ops
