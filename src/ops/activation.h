// Elementwise activations, one op class with a kind: ReLU, LeakyReLU (alpha, default 0.01),
// ELU (alpha, default 1), GELU (exact erf form; approximate="tanh" for the tanh form), SiLU,
// Sigmoid, Tanh. type() is the kind's name ("ReLU", ...), which is also the registry key.
#pragma once

#include "ops/op.h"

#include <memory>

namespace convkit::ops {

enum class ActivationKind : std::uint8_t { ReLU, LeakyReLU, ELU, GELU, SiLU, Sigmoid, Tanh };

struct ActivationAttrs {
  double alpha = -1;          // LeakyReLU / ELU slope; < 0 = the kind's default
  bool gelu_tanh = false;     // GELU: tanh approximation instead of erf
};

class Activation final : public Op {
 public:
  Activation(ActivationKind kind, ActivationAttrs attrs = {});
  ActivationKind kind() const { return kind_; }
  double alpha() const { return alpha_; }
  bool gelu_tanh() const { return gelu_tanh_; }

  std::string_view type() const override;
  Attrs attrs() const override;
  std::vector<TensorSpec> infer(std::span<const TensorSpec> inputs) const override;
  BackwardNeeds backward_needs() const override;  // output for ReLU/Sigmoid/Tanh, else input
  double flops(std::span<const TensorSpec> inputs) const override;
  void forward(const ForwardCall& call) const override;
  void backward(const BackwardCall& call) const override;

 private:
  ActivationKind kind_;
  double alpha_;
  bool gelu_tanh_;
};

std::shared_ptr<const Op> make_relu(const Attrs& attrs);
std::shared_ptr<const Op> make_leaky_relu(const Attrs& attrs);
std::shared_ptr<const Op> make_elu(const Attrs& attrs);
std::shared_ptr<const Op> make_gelu(const Attrs& attrs);
std::shared_ptr<const Op> make_silu(const Attrs& attrs);
std::shared_ptr<const Op> make_sigmoid(const Attrs& attrs);
std::shared_ptr<const Op> make_tanh(const Attrs& attrs);

}  // namespace convkit::ops
