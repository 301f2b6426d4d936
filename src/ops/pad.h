// Pad: constant padding of H and W of x [N, C, H, W]: pads [top, left, bottom, right] (each
// >= 0), filled with `value` (default 0). y [N, C, H + top + bottom, W + left + right]; backward
// crops dy back to x's window.
#pragma once

#include "ops/op.h"

#include <array>
#include <memory>

namespace convkit::ops {

struct PadAttrs {
  std::array<std::int64_t, 4> pads{0, 0, 0, 0};  // top, left, bottom, right
  double value = 0;
};

class Pad final : public Op {
 public:
  explicit Pad(PadAttrs attrs);
  const PadAttrs& pad_attrs() const { return a_; }
  std::string_view type() const override { return "Pad"; }
  Attrs attrs() const override;
  std::vector<TensorSpec> infer(std::span<const TensorSpec> inputs) const override;
  BackwardNeeds backward_needs() const override { return {.inputs = false, .outputs = false}; }
  double flops(std::span<const TensorSpec> /*inputs*/) const override { return 0; }
  void forward(const ForwardCall& call) const override;
  void backward(const BackwardCall& call) const override;

 private:
  PadAttrs a_;
};

std::shared_ptr<const Op> make_pad(const Attrs& attrs);

}  // namespace convkit::ops
