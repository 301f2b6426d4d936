// Concat: shape rule and reference kernel. Every tensor is seen as [outer, inner_i] with
// outer = product of the dims before `axis` (the batch N included) and inner_i = product of
// input i's dims from `axis` on; an output row is the input rows side by side. Copies are of
// bytes, so any dtype works.
#include "ops/concat.h"

#include <cstring>
#include <vector>

namespace convkit::ops {

namespace {

constexpr std::int64_t kParallelMin = 32768;  // bytes per call below which one thread is used

// Copies `bytes` per row between part rows (at stride `bytes`) and whole rows (at stride
// `row`, starting `offset` bytes in): gather in forward, scatter in backward.
void move_rows(std::byte* part, std::byte* whole, std::int64_t outer, std::size_t bytes,
               std::size_t row, std::size_t offset, bool to_whole) {
  if (bytes == 0) return;
#pragma omp parallel for schedule(static) if (std::int64_t(bytes) * outer > kParallelMin)
  for (std::int64_t o = 0; o < outer; ++o) {
    std::byte* at_whole = whole + std::size_t(o) * row + offset;
    std::byte* at_part = part + std::size_t(o) * bytes;
    if (to_whole)
      std::memcpy(at_whole, at_part, bytes);
    else
      std::memcpy(at_part, at_whole, bytes);
  }
}

// Product of the dims before `axis`, the batch N included.
std::int64_t outer_of(const Shape& shape, int axis) {
  std::int64_t outer = 1;
  for (int d = 0; d < axis; ++d) outer *= shape[d];
  return outer;
}

}  // namespace

Concat::Concat(int axis) : axis_(axis) {
  if (axis < 1) fail("Concat axis must be >= 1 (axis 0 is the batch), got {}", axis);
}

Attrs Concat::attrs() const {
  return {{"axis", std::int64_t(axis_)}};
}

std::vector<TensorSpec> Concat::infer(std::span<const TensorSpec> inputs) const {
  if (inputs.empty()) shape_fail("Concat takes at least 1 input, got 0");
  const TensorSpec& first = inputs[0];
  if (axis_ >= first.shape.rank())
    shape_fail("Concat axis {} is out of range for input 0 {}", axis_, first.shape.str());
  std::vector<std::int64_t> dims = first.shape.dims();
  for (std::size_t i = 1; i < inputs.size(); ++i) {
    const TensorSpec& x = inputs[i];
    if (x.dtype != first.dtype)
      shape_fail("Concat needs inputs of one dtype, got {} (input 0) and {} (input {})",
                 name_of(first.dtype), name_of(x.dtype), i);
    bool match = x.shape.rank() == first.shape.rank();
    for (int d = 0; match && d < first.shape.rank(); ++d)
      match = d == axis_ || x.shape[d] == first.shape[d];
    if (!match)
      shape_fail(
          "Concat along axis {} needs all other dims equal, got {} (input 0) and {} (input {})",
          axis_, first.shape.str(), x.shape.str(), i);
    dims[axis_] += x.shape[axis_];
  }
  return {{Shape(std::move(dims)), first.dtype}};
}

void Concat::forward(const ForwardCall& call) const {
  const Tensor& y = call.outputs[0];
  const std::int64_t outer = outer_of(y.shape(), axis_);
  const std::size_t elem = size_of(y.dtype());
  const std::size_t row = std::size_t(y.shape().numel_from(axis_)) * elem;
  std::size_t offset = 0;
  for (const Tensor& x : call.inputs) {
    const std::size_t bytes = std::size_t(x.shape().numel_from(axis_)) * elem;
    move_rows(static_cast<std::byte*>(x.raw()), static_cast<std::byte*>(y.raw()), outer, bytes, row,
              offset, true);
    offset += bytes;
  }
}

void Concat::backward(const BackwardCall& call) const {
  const Tensor& dy = call.grad_outputs[0];
  const std::int64_t outer = outer_of(dy.shape(), axis_);
  const std::size_t elem = size_of(dy.dtype());
  const std::size_t row = std::size_t(dy.shape().numel_from(axis_)) * elem;
  const auto parts = call.grad_inputs;
  // Bytes per row of part i, or -1 when unknown. An undefined (unneeded) gradient has no shape;
  // the input's spec is used (plans always pass input_specs; bare calls may pass the inputs).
  auto width = [&](std::size_t i) -> std::int64_t {
    if (parts[i].defined()) return parts[i].shape().numel_from(axis_) * std::int64_t(elem);
    if (i < call.input_specs.size())
      return call.input_specs[i].shape.numel_from(axis_) * std::int64_t(elem);
    if (i < call.inputs.size() && call.inputs[i].rank() == dy.rank())
      return call.inputs[i].shape().numel_from(axis_) * std::int64_t(elem);
    return -1;
  };
  for (std::size_t k = 0; k < parts.size(); ++k) {
    if (!parts[k].defined()) continue;
    // The offset of part k from the parts before it, or else from the end of the row.
    std::int64_t before = 0, after = 0;
    for (std::size_t i = 0; i < k && before >= 0; ++i)
      before = width(i) < 0 ? -1 : before + width(i);
    for (std::size_t i = k; i < parts.size() && after >= 0; ++i)
      after = width(i) < 0 ? -1 : after + width(i);
    if (before < 0 && after < 0)
      fail(
          "Concat backward cannot place the gradient of input {}: inputs on both sides of it have "
          "neither a gradient nor a shape given",
          k);
    const std::size_t offset = before >= 0 ? std::size_t(before) : row - std::size_t(after);
    move_rows(static_cast<std::byte*>(parts[k].raw()), static_cast<std::byte*>(dy.raw()), outer,
              std::size_t(width(k)), row, offset, false);
  }
}

std::shared_ptr<const Op> make_concat(const Attrs& attrs) {
  const std::int64_t axis = attrs.get_int("axis", 1);
  if (axis > 1024) fail("Concat axis {} is out of range", axis);
  return std::make_shared<Concat>(int(axis));  // the constructor rejects axis < 1
}

}  // namespace convkit::ops
