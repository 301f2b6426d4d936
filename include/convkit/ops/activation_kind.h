// ActivationKind: the one activation enum, from a YAML `activation:` value to the kernel. The nn
// API calls it nn::Activation, the ops ActivationKind (and FusedActivation where an op applies
// it to its own output); what each kind means, how it is spelled in YAML and the model spec,
// whether it fuses and which oneDNN algorithm computes it, is one row of the activation table
// (src/ops/activation_table.cpp; the oneDNN column in src/backend/cpu/onednn_common.cpp).
#pragma once

#include <cstdint>

namespace convkit {

// None first, so a value-initialized kind is "no activation". Append new kinds at the end.
enum class ActivationKind : std::uint8_t {
  None,
  ReLU,
  LeakyReLU,
  ELU,
  GELU,
  SiLU,
  Sigmoid,
  Tanh,
  Softmax,      // over dim 1; a separate op (Softmax), never fused
  ReLU6,        // min(max(x, 0), 6)
  Clip,         // min(max(x, min), max)
  HardSwish,    // x relu6(x + 3) / 6
  HardSigmoid,  // relu6(x + 3) / 6 (PyTorch; ONNX's default alpha 0.2 differs)
};

}  // namespace convkit
