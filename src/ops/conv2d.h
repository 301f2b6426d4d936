// Conv2D: 2-D convolution (cross-correlation, as in PyTorch/ONNX) with stride, padding
// (valid / same / explicit), dilation, groups, optional bias and fused ReLU.
// Shapes: x [N, C, H, W], weight [F, C/groups, KH, KW] (OIHW), bias [F], y [N, F, OH, OW].
#pragma once

#include "ops/op.h"

#include <array>
#include <memory>

namespace convkit::ops {

// Valid: no padding. Same: output = ceil(input / stride), the total padding split with the
// extra pixel at the bottom/right (TensorFlow/Keras "same", ONNX SAME_UPPER). Explicit: pads.
enum class Padding : std::uint8_t { Valid, Same, Explicit };
std::string_view name_of(Padding p);
Padding padding_from_name(std::string_view name);

using Pads = std::array<std::int64_t, 4>;  // top, left, bottom, right

struct Conv2DAttrs {
  std::int64_t filters = 0;
  std::array<std::int64_t, 2> kernel{3, 3};  // KH, KW
  std::array<std::int64_t, 2> stride{1, 1};
  std::array<std::int64_t, 2> dilation{1, 1};
  Padding padding = Padding::Valid;
  Pads pads{0, 0, 0, 0};  // used when padding == Explicit
  std::int64_t groups = 1;
  bool bias = true;
  FusedActivation activation = FusedActivation::None;
};

// Pads for one spatial dim under a padding mode: {before, after}.
std::array<std::int64_t, 2> resolve_pads_1d(Padding mode, std::int64_t in, std::int64_t kernel,
                                            std::int64_t stride, std::int64_t dilation,
                                            std::int64_t explicit_before,
                                            std::int64_t explicit_after);
// Output size of one spatial dim; throws ShapeError when the window does not fit.
std::int64_t window_output_size(std::int64_t in, std::int64_t kernel, std::int64_t stride,
                                std::int64_t dilation, std::int64_t pad_before,
                                std::int64_t pad_after);

class Conv2D final : public Op {
 public:
  explicit Conv2D(Conv2DAttrs attrs);  // validates (filters > 0, groups divide filters, ...)
  const Conv2DAttrs& conv_attrs() const { return a_; }
  Pads resolved_pads(std::int64_t h, std::int64_t w) const;  // top, left, bottom, right

  std::string_view type() const override { return "Conv2D"; }
  Attrs attrs() const override;
  std::vector<TensorSpec> infer(std::span<const TensorSpec> inputs) const override;
  std::vector<ParamSpec> params(std::span<const TensorSpec> inputs) const override;
  BackwardNeeds backward_needs() const override;
  double flops(std::span<const TensorSpec> inputs) const override;
  void forward(const ForwardCall& call) const override;
  void backward(const BackwardCall& call) const override;

 private:
  Conv2DAttrs a_;
};

std::shared_ptr<const Op> make_conv2d(const Attrs& attrs);

}  // namespace convkit::ops
