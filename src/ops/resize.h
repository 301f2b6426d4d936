// Resize: x [N, C, H, W] -> y [N, C, height, width] by bilinear interpolation with half-pixel
// centres (ONNX Resize linear/half_pixel, PyTorch interpolate(align_corners=False), OpenCV
// INTER_LINEAR: source coordinate (i + 0.5) * H / height - 0.5, clamped to the edge) or nearest
// (src[floor(i * H / height)]). Backward scatters each dy through the same weights (the
// transpose of the forward map). A model-level resize, as Keras users write a Lambda around
// tf.image.resize: a model that starts with it takes images of any size.
#pragma once

#include "ops/op.h"

#include <memory>
#include <string>

namespace convkit::ops {

struct ResizeAttrs {
  std::int64_t height = 0, width = 0;  // output size
  std::string mode = "bilinear";       // bilinear | nearest
};

class Resize final : public Op {
 public:
  explicit Resize(ResizeAttrs attrs);
  const ResizeAttrs& resize_attrs() const { return a_; }
  std::string_view type() const override { return "Resize"; }
  Attrs attrs() const override;
  std::vector<TensorSpec> infer(std::span<const TensorSpec> inputs) const override;
  BackwardNeeds backward_needs() const override { return {.inputs = false, .outputs = false}; }
  double flops(std::span<const TensorSpec> inputs) const override;
  void forward(const ForwardCall& call) const override;
  void backward(const BackwardCall& call) const override;

 private:
  ResizeAttrs a_;
};

std::shared_ptr<const Op> make_resize(const Attrs& attrs);

}  // namespace convkit::ops
