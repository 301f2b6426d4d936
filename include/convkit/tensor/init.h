// Weight initializers. fan_in/fan_out come from the op that owns the parameter
// (conv: in_channels/groups * kh * kw and out_channels/groups * kh * kw; dense: in and out).
#pragma once

#include <convkit/tensor/tensor.h>

#include <cstdint>
#include <string_view>

namespace convkit {

enum class InitKind : std::uint8_t {
  Default,  // the op's own PyTorch-compatible default
  Zeros,
  Ones,
  Constant,       // value = a
  Uniform,        // U(a, b)
  Normal,         // N(a, b^2)
  TorchUniform,   // PyTorch's nn.Conv2d / nn.Linear default: U(-1/sqrt(fan_in), 1/sqrt(fan_in))
  HeUniform,      // U(-sqrt(6/fan_in), sqrt(6/fan_in))
  HeNormal,       // N(0, 2/fan_in)
  GlorotUniform,  // U(-sqrt(6/(fan_in+fan_out)), +...)
  GlorotNormal,   // N(0, 2/(fan_in+fan_out))
};

struct Init {
  InitKind kind = InitKind::Default;
  float a = 0.0f;
  float b = 0.0f;
};

std::string_view name_of(InitKind kind);
InitKind init_kind_from_name(std::string_view name);  // throws Error naming the bad value

// Fills `t` (f32) deterministically from `key`. `kind` must not be Default.
void initialize(const Tensor& t, Init init, std::int64_t fan_in, std::int64_t fan_out,
                std::uint64_t key);

}  // namespace convkit
