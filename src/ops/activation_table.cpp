// The activation table (see activation_table.h). Adding an activation: its kind in
// include/convkit/ops/activation_kind.h, one row here, its reference function and derivative in
// activation.cpp, one registry line, its oneDNN row in backend/cpu/onednn_common.cpp (if any).
#include "ops/activation_table.h"

#include <convkit/util/error.h>

#include <string>

namespace convkit::ops {

namespace {

using K = ActivationKind;
// clang-format off
const ActivationInfo kActivations[] = {
  // kind          name            alias     op type        ONNX           from_y fuses  alpha             beta
  {K::None,        "none",         "linear", "",            "",            false, false},
  {K::ReLU,        "relu",         "",       "ReLU",        "Relu",        true,  true},
  {K::LeakyReLU,   "leaky_relu",   "",       "LeakyReLU",   "LeakyRelu",   false, false, "alpha", 0.01, {}, 0, 2},
  {K::ELU,         "elu",          "",       "ELU",         "Elu",         false, false, "alpha", 1.0,  {}, 0, 3},
  {K::GELU,        "gelu",         "",       "GELU",        "Gelu",        false, false, {}, 0, {}, 0, 8},
  {K::SiLU,        "silu",         "swish",  "SiLU",        "",            false, false, {}, 0, {}, 0, 4},  // ONNX: x * Sigmoid(x)
  {K::Sigmoid,     "sigmoid",      "",       "Sigmoid",     "Sigmoid",     true,  true,  {}, 0, {}, 0, 3},
  {K::Tanh,        "tanh",         "",       "Tanh",        "Tanh",        true,  true,  {}, 0, {}, 0, 3},
  {K::Softmax,     "softmax",      "",       "Softmax",     "Softmax",     false, false, {}, 0, {}, 0, 4},
  {K::ReLU6,       "relu6",        "",       "ReLU6",       "Clip",        true,  true,  {}, 0, {}, 6, 2},  // ONNX Clip(0, 6)
  {K::Clip,        "clip",         "",       "Clip",        "Clip",        true,  false, "min", 0, "max", 6, 2},
  {K::HardSwish,   "hard_swish",   "",       "HardSwish",   "HardSwish",   false, false, {}, 0, {}, 0, 4},
  // NOTE: PyTorch's definition (slope 1/6); ONNX HardSigmoid defaults to alpha 0.2, so export
  // must write alpha = 1/6, beta = 0.5. Not fused: oneDNN 2.6 has no hardsigmoid post-op.
  {K::HardSigmoid, "hard_sigmoid", "",       "HardSigmoid", "HardSigmoid", true,  false, {}, 0, {}, 0, 3},
};
// clang-format on

}  // namespace

std::span<const ActivationInfo> activation_table() {
  return kActivations;
}

const ActivationInfo& activation_info(ActivationKind kind) {
  for (const auto& a : kActivations)
    if (a.kind == kind) return a;
  fail("activation kind {} has no row in the activation table", int(kind));
}

const ActivationInfo* find_activation(std::string_view name) {
  for (const auto& a : kActivations)
    if (a.name == name || (!a.alias.empty() && a.alias == name)) return &a;
  return nullptr;
}

std::string activation_names() {
  std::string out;
  for (const auto& a : kActivations) {
    if (a.kind == K::Clip) continue;  // needs min and max: a layer of its own, not an `activation:`
    out += out.empty() ? "" : ", ";
    out += a.name;
  }
  return out;
}

}  // namespace convkit::ops
