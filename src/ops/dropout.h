// Dropout: in Train mode zero each element with probability `rate` and scale the rest by
// 1/(1-rate); identity in Infer mode. spatial=true drops whole channels of [N, C, H, W]
// (SpatialDropout2D). The mask is regenerated from the counter-based RNG in backward
// (key = call.rng_key, step = call.step), so nothing is saved and threads do not matter.
#pragma once

#include "ops/op.h"

#include <memory>

namespace convkit::ops {

struct DropoutAttrs {
  double rate = 0.5;
  bool spatial = false;
};

class Dropout final : public Op {
 public:
  explicit Dropout(DropoutAttrs attrs);
  const DropoutAttrs& dropout_attrs() const { return a_; }
  // keep[i] for element i of a tensor of `shape` at this key/step: the single source of truth
  // for the mask, shared by forward, backward and any fast kernel.
  static bool keep(std::uint64_t key, std::uint64_t step, std::int64_t unit, double rate);

  std::string_view type() const override { return "Dropout"; }
  Attrs attrs() const override;
  std::vector<TensorSpec> infer(std::span<const TensorSpec> inputs) const override;
  BackwardNeeds backward_needs() const override { return {.inputs = false, .outputs = false}; }
  void forward(const ForwardCall& call) const override;
  void backward(const BackwardCall& call) const override;

 private:
  DropoutAttrs a_;
};

std::shared_ptr<const Op> make_dropout(const Attrs& attrs);

}  // namespace convkit::ops
