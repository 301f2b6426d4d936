// Flatten ([N, ...] -> [N, prod(...)]) and Reshape (to [N, shape...], one dim may be -1).
// Both keep the batch dim and the element order (row-major), so Flatten after an NCHW conv
// matches PyTorch's x.flatten(1).
#pragma once

#include "ops/op.h"

#include <memory>

namespace convkit::ops {

class Reshape final : public Op {
 public:
  // Empty `shape` = Flatten. Otherwise the target shape without the batch dim.
  explicit Reshape(std::vector<std::int64_t> shape = {});
  bool is_flatten() const { return shape_.empty(); }

  std::string_view type() const override { return is_flatten() ? "Flatten" : "Reshape"; }
  Attrs attrs() const override;
  std::vector<TensorSpec> infer(std::span<const TensorSpec> inputs) const override;
  BackwardNeeds backward_needs() const override { return {.inputs = false, .outputs = false}; }
  void forward(const ForwardCall& call) const override;
  void backward(const BackwardCall& call) const override;

 private:
  std::vector<std::int64_t> shape_;
};

std::shared_ptr<const Op> make_flatten(const Attrs& attrs);
std::shared_ptr<const Op> make_reshape(const Attrs& attrs);

}  // namespace convkit::ops
