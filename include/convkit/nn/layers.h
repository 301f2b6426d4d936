// Layers: plain option structs filled with designated initializers, called on Values.
//   nn::Conv2D{.filters = 32, .kernel = 3, .activation = nn::Activation::ReLU}
//   nn::Dense{.units = 10}
// Defaults follow PyTorch where users expect them (weights initialized like nn.Conv2d/nn.Linear,
// BatchNorm momentum 0.1, epsilon 1e-5). Each layer's operator() validates its options and the
// input shape, and throws convkit::Error naming the layer and both shapes when they disagree.
#pragma once

#include <convkit/nn/value.h>
#include <convkit/ops/activation_kind.h>
#include <convkit/tensor/init.h>

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace convkit::nn {

// A size given as one number (square) or as {height, width}.
struct Size2 {
  std::int64_t h = 1, w = 1;
  Size2() = default;
  Size2(std::int64_t s) : h(s), w(s) {}  // NOLINT(google-explicit-constructor): `.kernel = 3`
  Size2(std::int64_t height, std::int64_t width) : h(height), w(width) {}
};

// Valid: no padding. Same: output = ceil(input / stride) (TensorFlow/Keras). Explicit: pads.
enum class Padding { Valid, Same, Explicit };
using Pads = std::array<std::int64_t, 4>;  // top, left, bottom, right

// The one activation enum (see convkit/ops/activation_kind.h): None, ReLU, LeakyReLU, ELU,
// GELU, SiLU, Sigmoid, Tanh, Softmax, ReLU6, HardSwish, HardSigmoid (Clip needs bounds: use
// the nn::Clip layer).
using Activation = convkit::ActivationKind;

// Per-layer weight penalty on the layer's kernel (never its bias), Keras semantics: the loss
// gains l1*sum|w| + l2*sum(w^2), so the gradient gains l1*sign(w) + 2*l2*w. It adds to the
// optimizer-wide weight_decay/l1. The reported loss does not include the penalty.
struct Regularizer {
  double l1 = 0;
  double l2 = 0;
};

struct Conv2D {
  std::int64_t filters = 0;
  Size2 kernel = 3;
  Size2 stride = 1;
  Padding padding = Padding::Valid;
  Pads pads{0, 0, 0, 0};
  Size2 dilation = 1;
  std::int64_t groups = 1;
  bool use_bias = true;
  Activation activation = Activation::None;
  Init kernel_init{};  // default: PyTorch's nn.Conv2d init
  Init bias_init{};
  Regularizer regularizer{};
  std::string name;
  bool trainable = true;
  Value operator()(const Value& x) const;
};

struct Dense {
  std::int64_t units = 0;
  bool use_bias = true;
  Activation activation = Activation::None;
  Init kernel_init{};  // default: PyTorch's nn.Linear init
  Init bias_init{};
  Regularizer regularizer{};
  std::string name;
  bool trainable = true;
  Value operator()(const Value& x) const;
};

struct MaxPool2D {
  Size2 pool = 2;
  Size2 stride = 0;  // 0: same as pool
  Padding padding = Padding::Valid;
  Pads pads{0, 0, 0, 0};
  std::string name;
  Value operator()(const Value& x) const;
};

struct AvgPool2D {
  Size2 pool = 2;
  Size2 stride = 0;
  Padding padding = Padding::Valid;
  Pads pads{0, 0, 0, 0};
  bool count_include_pad = false;
  std::string name;
  Value operator()(const Value& x) const;
};

struct GlobalAvgPool2D {
  bool keepdims = false;  // [N, C] (Keras) or [N, C, 1, 1] (ONNX)
  std::string name;
  Value operator()(const Value& x) const;
};

struct BatchNorm {
  double momentum = 0.1;  // PyTorch convention: weight of the new batch statistic
  double epsilon = 1e-5;
  Activation activation = Activation::None;
  Init gamma_init{};  // default: ones (zeros: a residual branch that starts as the identity)
  std::string name;
  bool trainable = true;
  Value operator()(const Value& x) const;
};

struct Dropout {
  double rate = 0.5;
  std::string name;
  Value operator()(const Value& x) const;
};

struct SpatialDropout2D {  // drops whole channels
  double rate = 0.5;
  std::string name;
  Value operator()(const Value& x) const;
};

struct ReLU {
  std::string name;
  Value operator()(const Value& x) const;
};
struct LeakyReLU {
  double alpha = 0.01;
  std::string name;
  Value operator()(const Value& x) const;
};
struct ELU {
  double alpha = 1.0;
  std::string name;
  Value operator()(const Value& x) const;
};
struct GELU {
  bool tanh_approximation = false;
  std::string name;
  Value operator()(const Value& x) const;
};
struct SiLU {
  std::string name;
  Value operator()(const Value& x) const;
};
struct Sigmoid {
  std::string name;
  Value operator()(const Value& x) const;
};
struct Tanh {
  std::string name;
  Value operator()(const Value& x) const;
};
struct Softmax {
  std::string name;
  Value operator()(const Value& x) const;
};
struct ReLU6 {
  std::string name;
  Value operator()(const Value& x) const;
};             // clip to [0, 6]
struct Clip {  // min(max(x, min), max); gradient 1 strictly inside (PyTorch's hardtanh)
  double min = 0;
  double max = 6;
  std::string name;
  Value operator()(const Value& x) const;
};
struct HardSwish {
  std::string name;
  Value operator()(const Value& x) const;
};  // x relu6(x+3)/6
struct HardSigmoid {
  std::string name;
  Value operator()(const Value& x) const;
};  // relu6(x+3)/6

struct Flatten {
  std::string name;
  Value operator()(const Value& x) const;
};
struct Reshape {
  std::vector<std::int64_t> shape;  // per sample; one entry may be -1
  std::string name;
  Value operator()(const Value& x) const;
};

// Constant padding of H and W of [C, H, W] values.
struct Pad {
  Pads pads{0, 0, 0, 0};  // top, left, bottom, right
  double value = 0;
  std::string name;
  Value operator()(const Value& x) const;
};

// Resizes H and W of [C, H, W] values to height x width (bilinear with half-pixel centres, or
// nearest), with gradients: a model that starts with it takes images of any size.
struct Resize {
  std::int64_t height = 0, width = 0;
  std::string mode = "bilinear";  // bilinear | nearest
  std::string name;
  Value operator()(const Value& x) const;
};

struct Add {
  std::string name;
  Value operator()(const std::vector<Value>& xs) const;
};
// Elementwise product of two values: equal shapes, or [C, H, W] times [C, 1, 1] (a
// squeeze-excitation gate, broadcast over H and W): nn::Multiply{}({x, gate}).
struct Multiply {
  std::string name;
  Value operator()(const std::vector<Value>& xs) const;
};
struct Concat {
  int axis = 1;  // channels of [N, C, H, W]
  std::string name;
  Value operator()(const std::vector<Value>& xs) const;
};

// Applies `activation` to x as a separate layer (used by Conv2D/Dense/BatchNorm's option).
Value apply_activation(const Value& x, Activation activation, const std::string& layer_name);

}  // namespace convkit::nn
