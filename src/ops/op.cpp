// Shared helpers for op shape rules.
#include "ops/op.h"

namespace convkit::ops {

void expect_inputs(std::string_view op, std::span<const TensorSpec> inputs, int n) {
  if (static_cast<int>(inputs.size()) != n)
    shape_fail("{} takes {} input{}, got {}", op, n, n == 1 ? "" : "s", inputs.size());
}

void expect_rank(std::string_view op, const TensorSpec& input, int rank, std::string_view dims) {
  if (input.shape.rank() != rank)
    shape_fail("{} expects a {}-D input {}, got {}", op, rank, dims, input.shape.str());
}

std::string_view name_of(FusedActivation a) {
  switch (a) {
    case FusedActivation::ReLU: return "relu";
    case FusedActivation::Tanh: return "tanh";
    case FusedActivation::Sigmoid: return "sigmoid";
    default: return "none";
  }
}

FusedActivation fused_activation_from_name(std::string_view name) {
  for (auto a : {FusedActivation::None, FusedActivation::ReLU, FusedActivation::Tanh,
                 FusedActivation::Sigmoid})
    if (name == name_of(a)) return a;
  fail("unknown fused activation '{}' (expected none, relu, tanh or sigmoid)", name);
}

}  // namespace convkit::ops
