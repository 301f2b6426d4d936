// Shared helpers for op shape rules.
#include "ops/op.h"

#include "ops/activation_table.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <vector>

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
  return activation_info(a).name;
}

FusedActivation fused_activation_from_name(std::string_view name) {
  const ActivationInfo* a = find_activation(name);
  if (a && (a->fuses || a->kind == FusedActivation::None)) return a->kind;
  std::vector<std::string_view> fusable{"none"};
  for (const auto& row : activation_table())
    if (row.fuses) fusable.push_back(row.name);
  const std::string_view last = fusable.back();
  fusable.pop_back();
  fail("unknown fused activation '{}' (expected {} or {})", name, fmt::join(fusable, ", "), last);
}

void expect_fusable(std::string_view op, FusedActivation a) {
  if (a != FusedActivation::None && !activation_info(a).fuses)
    fail("{} attribute 'activation' cannot fuse {} (not computable from the output y alone)", op,
         activation_info(a).name);
}

}  // namespace convkit::ops
