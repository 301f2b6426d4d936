// Flatten / Reshape: shape rules (-1 inference, element-count checks) and the reference
// kernel, which is a plain copy: row-major order is unchanged, only the shape differs.
#include "ops/reshape.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <cstring>

namespace convkit::ops {

namespace {
// The target as the user wrote it, with N for the batch: "[N, 7, -1]".
std::string target_str(const std::vector<std::int64_t>& shape) {
  return fmt::format("[N, {}]", fmt::join(shape, ", "));
}

void copy_bytes(const Tensor& from, const Tensor& to) {
  if (from.raw() != to.raw()) std::memcpy(to.raw(), from.raw(), from.nbytes());
}
}  // namespace

Reshape::Reshape(std::vector<std::int64_t> shape) : shape_(std::move(shape)) {
  int inferred = 0;
  for (std::int64_t d : shape_) {
    if (d == -1)
      ++inferred;
    else if (d <= 0)
      fail("Reshape dims must be positive or -1, got {}", target_str(shape_));
  }
  if (inferred > 1) fail("Reshape can infer at most one dim (-1), got {}", target_str(shape_));
}

Attrs Reshape::attrs() const {
  if (is_flatten()) return {};
  return {{"shape", shape_}};
}

std::vector<TensorSpec> Reshape::infer(std::span<const TensorSpec> inputs) const {
  expect_inputs(type(), inputs, 1);
  const TensorSpec& x = inputs[0];
  if (x.shape.rank() < 1) shape_fail("{} expects an input [N, ...], got a scalar", type());
  const std::int64_t n = x.shape[0];
  const std::int64_t per_sample = x.shape.numel_from(1);
  if (is_flatten()) return {{Shape{n, per_sample}, x.dtype}};

  std::vector<std::int64_t> dims{n};
  std::int64_t known = 1;
  int inferred_at = -1;
  for (std::int64_t d : shape_) {
    if (d == -1)
      inferred_at = int(dims.size());
    else
      known *= d;
    dims.push_back(d);
  }
  if (inferred_at >= 0) {
    if (per_sample % known != 0)
      shape_fail("Reshape cannot reshape {} to {}: {} elements per sample are not a multiple of {}",
                 x.shape.str(), target_str(shape_), per_sample, known);
    dims[inferred_at] = per_sample / known;
  } else if (known != per_sample) {
    shape_fail("Reshape cannot reshape {} to {}: {} elements per sample vs {}", x.shape.str(),
               target_str(shape_), per_sample, known);
  }
  return {{Shape(std::move(dims)), x.dtype}};
}

void Reshape::forward(const ForwardCall& call) const {
  copy_bytes(call.inputs[0], call.outputs[0]);
}

void Reshape::backward(const BackwardCall& call) const {
  if (call.grad_inputs[0].defined()) copy_bytes(call.grad_outputs[0], call.grad_inputs[0]);
}

std::shared_ptr<const Op> make_flatten(const Attrs&) {
  return std::make_shared<Reshape>();
}

std::shared_ptr<const Op> make_reshape(const Attrs& attrs) {
  auto shape = attrs.get_ints("shape", {});
  if (shape.empty()) fail("Reshape needs a non-empty 'shape' (the target without the batch dim)");
  return std::make_shared<Reshape>(std::move(shape));
}

}  // namespace convkit::ops
