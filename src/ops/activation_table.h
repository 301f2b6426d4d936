// The activation table: one row per ActivationKind says everything the layers above need to
// know about it: its YAML / fused-attribute name (and an alias), the op type that computes it as
// a layer of its own (the registry and model-spec key), its ONNX op (slot for import/export),
// whether its backward reads only the output y, whether it folds into Conv2D/Dense/MaxPool2D,
// its parameters' attribute names and defaults, and a rough cost. The reference function and
// derivative are in the op's file (activation.cpp); the oneDNN algorithm in
// backend/cpu/onednn_common.cpp (eltwise_of), keyed by the same kind.
#pragma once

#include <convkit/ops/activation_kind.h>

#include <span>
#include <string_view>

namespace convkit::ops {

using ActivationKind = convkit::ActivationKind;

struct ActivationInfo {
  ActivationKind kind;
  std::string_view name;     // YAML `activation:` and fused `activation` attr value: "relu"
  std::string_view alias;    // a second YAML name ("swish" for silu, "linear" for none) or ""
  std::string_view op_type;  // the standalone op ("ReLU"; "" for None)
  std::string_view onnx;     // ONNX op type (for the ONNX import/export table, a later issue)
  bool from_output = false;  // backward needs y only (derivative written in terms of y)
  bool fuses = false;        // folds into Conv2D/Dense (exact: from_output, oneDNN post-op)
  std::string_view alpha_attr = {};  // op attribute of the first parameter ("alpha", "min")
  double alpha = 0;                  // its default
  std::string_view beta_attr = {};   // op attribute of the second parameter ("max")
  double beta = 0;                   // its default
  double flops = 1;                  // per element, rough (a transcendental counts a few)
};

std::span<const ActivationInfo> activation_table();
const ActivationInfo& activation_info(ActivationKind kind);
// By YAML name or alias; nullptr when unknown.
const ActivationInfo* find_activation(std::string_view name);
// "none, relu, ..." (primary names) for error messages.
std::string activation_names();

}  // namespace convkit::ops
