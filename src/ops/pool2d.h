// MaxPool2D and AvgPool2D: sliding-window pooling over [N, C, H, W] -> [N, C, OH, OW].
// stride defaults to the kernel size; padding as in Conv2D (padded cells never win a max and,
// for average pooling, count only when count_include_pad is set; ONNX's default is not).
// Max pooling may carry a fused activation (y = act(max)): the fusion pass moves a ReLU, tanh or
// sigmoid that precedes a MaxPool2D into it, since max commutes with a non-decreasing function
// and the activation then runs on the pooled tensor (a quarter of the size for 2x2).
#pragma once

#include "ops/conv2d.h"

#include <memory>

namespace convkit::ops {

enum class PoolKind : std::uint8_t { Max, Avg };

struct Pool2DAttrs {
  std::array<std::int64_t, 2> kernel{2, 2};
  std::array<std::int64_t, 2> stride{0, 0};  // 0 = same as kernel
  Padding padding = Padding::Valid;
  Pads pads{0, 0, 0, 0};
  bool count_include_pad = false;                      // Avg only
  FusedActivation activation = FusedActivation::None;  // Max only
};

class Pool2D final : public Op {
 public:
  Pool2D(PoolKind kind, Pool2DAttrs attrs);
  PoolKind kind() const { return kind_; }
  const Pool2DAttrs& pool_attrs() const { return a_; }  // stride already resolved (never 0)
  Pads resolved_pads(std::int64_t h, std::int64_t w) const;

  std::string_view type() const override {
    return kind_ == PoolKind::Max ? "MaxPool2D" : "AvgPool2D";
  }
  Attrs attrs() const override;
  std::vector<TensorSpec> infer(std::span<const TensorSpec> inputs) const override;
  BackwardNeeds backward_needs() const override;
  double flops(std::span<const TensorSpec> inputs) const override;
  void forward(const ForwardCall& call) const override;
  void backward(const BackwardCall& call) const override;

 private:
  PoolKind kind_;
  Pool2DAttrs a_;
};

std::shared_ptr<const Op> make_max_pool2d(const Attrs& attrs);
std::shared_ptr<const Op> make_avg_pool2d(const Attrs& attrs);

}  // namespace convkit::ops
