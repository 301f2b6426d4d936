// Elementwise activations, one op class with a kind: ReLU, LeakyReLU (alpha, default 0.01),
// ELU (alpha, default 1), GELU (exact erf form; approximate="tanh" for the tanh form), SiLU,
// Sigmoid, Tanh, ReLU6, Clip (min, max; defaults 0 and 6), HardSwish (x relu6(x + 3) / 6) and
// HardSigmoid (relu6(x + 3) / 6). type() is the kind's op type in the activation table
// ("ReLU", ...), which is also the registry key.
#pragma once

#include "ops/activation_table.h"
#include "ops/op.h"

#include <memory>

namespace convkit::ops {

struct ActivationAttrs {
  double alpha = -1;        // LeakyReLU / ELU slope; < 0 = the kind's default
  bool gelu_tanh = false;   // GELU: tanh approximation instead of erf
  double min = 0, max = 6;  // Clip bounds (min <= max)
};

class Activation final : public Op {
 public:
  Activation(ActivationKind kind, ActivationAttrs attrs = {});
  ActivationKind kind() const { return kind_; }
  // The kind's parameters: LeakyReLU/ELU slope alpha; Clip and ReLU6 bounds alpha = min,
  // beta = max (ReLU6: 0 and 6); 0 for the others.
  double alpha() const { return alpha_; }
  double beta() const { return beta_; }
  bool gelu_tanh() const { return gelu_tanh_; }

  std::string_view type() const override;
  Attrs attrs() const override;
  std::vector<TensorSpec> infer(std::span<const TensorSpec> inputs) const override;
  BackwardNeeds backward_needs() const override;  // the output where the table says from_output
  double flops(std::span<const TensorSpec> inputs) const override;
  void forward(const ForwardCall& call) const override;
  void backward(const BackwardCall& call) const override;

 private:
  ActivationKind kind_;
  double alpha_;
  double beta_ = 0;
  bool gelu_tanh_;
};

std::shared_ptr<const Op> make_relu(const Attrs& attrs);
std::shared_ptr<const Op> make_leaky_relu(const Attrs& attrs);
std::shared_ptr<const Op> make_elu(const Attrs& attrs);
std::shared_ptr<const Op> make_gelu(const Attrs& attrs);
std::shared_ptr<const Op> make_silu(const Attrs& attrs);
std::shared_ptr<const Op> make_sigmoid(const Attrs& attrs);
std::shared_ptr<const Op> make_tanh(const Attrs& attrs);
std::shared_ptr<const Op> make_relu6(const Attrs& attrs);
std::shared_ptr<const Op> make_clip(const Attrs& attrs);
std::shared_ptr<const Op> make_hard_swish(const Attrs& attrs);
std::shared_ptr<const Op> make_hard_sigmoid(const Attrs& attrs);

}  // namespace convkit::ops
