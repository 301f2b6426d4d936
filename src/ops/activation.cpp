// Activation: reference kernels of the elementwise activations (ReLU, LeakyReLU, ELU, GELU,
// SiLU, Sigmoid, Tanh, ReLU6, Clip, HardSwish, HardSigmoid), forward and backward, written to
// stay finite for any finite input. Names, parameters and costs come from the activation table.
// Every kernel is one flat loop over the elements (any shape), vectorizable and parallel over
// independent elements, so results do not depend on the thread count.
#include "ops/activation.h"

#include <cmath>
#include <cstring>

namespace convkit::ops {

namespace {

constexpr std::int64_t kParallelMin = 32768;         // below this, threads cost more than they save
constexpr float kSqrt1_2 = 0.70710678118654752f;     // 1 / sqrt(2)
constexpr float kInvSqrt2Pi = 0.39894228040143268f;  // 1 / sqrt(2 pi)
constexpr float kSqrt2OverPi = 0.79788456080286536f;  // sqrt(2 / pi)
constexpr float kGeluCubic = 0.044715f;               // the tanh form's cubic coefficient

// GELU, tanh form: 0.5 x (1 + tanh(u)) = x sigmoid(2u), u = sqrt(2/pi) (x + 0.044715 x^3).
// NOTE: the sigmoid form avoids the cancellation of 1 + tanh(u) for negative x.
inline float gelu_tanh_u2(float x) {
  return 2.0f * kSqrt2OverPi * (x + kGeluCubic * x * x * x);
}

template <typename F>
void elementwise(std::int64_t n, F&& f) {
#pragma omp parallel for simd schedule(static) if (n > kParallelMin)
  for (std::int64_t i = 0; i < n; ++i) f(i);
}

std::string_view kind_name(ActivationKind kind) {
  return activation_info(kind).op_type;
}

double default_alpha(ActivationKind kind) {
  return activation_info(kind).alpha;
}

bool has_alpha(ActivationKind kind) {
  return kind == ActivationKind::LeakyReLU || kind == ActivationKind::ELU;
}

// min(max(x, lo), hi), NaN stays NaN.
inline float clip(float x, float lo, float hi) {
  return x > lo ? (x < hi ? x : hi) : (x < lo ? lo : x);
}

}  // namespace

Activation::Activation(ActivationKind kind, ActivationAttrs attrs)
    : kind_(kind),
      alpha_(has_alpha(kind) && attrs.alpha >= 0 ? attrs.alpha : default_alpha(kind)),
      beta_(activation_info(kind).beta),
      gelu_tanh_(kind == ActivationKind::GELU && attrs.gelu_tanh) {
  if (kind_name(kind).empty() || kind == ActivationKind::Softmax)
    fail("the Activation op cannot compute activation '{}'", activation_info(kind).name);
  if (kind == ActivationKind::Clip) {
    alpha_ = attrs.min;
    beta_ = attrs.max;
    if (!std::isfinite(alpha_) || !std::isfinite(beta_) || !(alpha_ <= beta_))
      fail("Clip needs finite 'min' <= 'max', got min {} and max {}", alpha_, beta_);
  }
  if (!std::isfinite(alpha_)) fail("{} alpha must be finite, got {}", kind_name(kind), alpha_);
}

std::string_view Activation::type() const {
  return kind_name(kind_);
}

Attrs Activation::attrs() const {
  if (kind_ == ActivationKind::Clip) return {{"min", alpha_}, {"max", beta_}};
  if (has_alpha(kind_)) return {{"alpha", alpha_}};
  if (kind_ == ActivationKind::GELU)
    return {{"approximate", std::string(gelu_tanh_ ? "tanh" : "none")}};
  return {};
}

std::vector<TensorSpec> Activation::infer(std::span<const TensorSpec> inputs) const {
  expect_inputs(type(), inputs, 1);
  if (inputs[0].dtype != DType::f32)
    shape_fail("{} expects an f32 input, got {} {}", type(), name_of(inputs[0].dtype),
               inputs[0].shape.str());
  return {inputs[0]};
}

BackwardNeeds Activation::backward_needs() const {
  // ReLU, Sigmoid, Tanh, ReLU6, Clip and HardSigmoid have derivatives in terms of their output
  // (which is often kept anyway by the next layer); the others need the input.
  if (activation_info(kind_).from_output) return {.inputs = false, .outputs = true};
  return {.inputs = true, .outputs = false};
}

double Activation::flops(std::span<const TensorSpec> inputs) const {
  return activation_info(kind_).flops * double(inputs[0].shape.numel());
}

void Activation::forward(const ForwardCall& call) const {
  const float* x = call.inputs[0].data<float>();
  float* y = call.outputs[0].data<float>();
  const std::int64_t n = call.outputs[0].numel();
  const float alpha = float(alpha_);
  switch (kind_) {
    case ActivationKind::ReLU:
      elementwise(n, [=](std::int64_t i) { y[i] = x[i] > 0.0f ? x[i] : 0.0f; });
      break;
    case ActivationKind::LeakyReLU:
      elementwise(n, [=](std::int64_t i) { y[i] = x[i] > 0.0f ? x[i] : alpha * x[i]; });
      break;
    case ActivationKind::ELU:
      // expm1 keeps precision near 0 and tends to -1 (no overflow) for very negative x.
      elementwise(n, [=](std::int64_t i) { y[i] = x[i] > 0.0f ? x[i] : alpha * std::expm1(x[i]); });
      break;
    case ActivationKind::GELU:
      if (gelu_tanh_)
        elementwise(n, [=](std::int64_t i) { y[i] = x[i] * sigmoid(gelu_tanh_u2(x[i])); });
      else  // 0.5 x (1 + erf(x/sqrt2)) = 0.5 x erfc(-x/sqrt2), accurate in the left tail too
        elementwise(n, [=](std::int64_t i) { y[i] = 0.5f * x[i] * std::erfc(-x[i] * kSqrt1_2); });
      break;
    case ActivationKind::SiLU:
      elementwise(n, [=](std::int64_t i) { y[i] = x[i] * sigmoid(x[i]); });
      break;
    case ActivationKind::Sigmoid:
      elementwise(n, [=](std::int64_t i) { y[i] = sigmoid(x[i]); });
      break;
    case ActivationKind::Tanh:
      elementwise(n, [=](std::int64_t i) { y[i] = std::tanh(x[i]); });
      break;
    case ActivationKind::ReLU6:
    case ActivationKind::Clip: {
      const float lo = float(alpha_), hi = float(beta_);
      elementwise(n, [=](std::int64_t i) { y[i] = clip(x[i], lo, hi); });
      break;
    }
    case ActivationKind::HardSwish:
      elementwise(n, [=](std::int64_t i) { y[i] = x[i] * clip(x[i] + 3.0f, 0.0f, 6.0f) / 6.0f; });
      break;
    case ActivationKind::HardSigmoid:
      elementwise(n, [=](std::int64_t i) { y[i] = clip(x[i] + 3.0f, 0.0f, 6.0f) / 6.0f; });
      break;
    case ActivationKind::None:
    case ActivationKind::Softmax:
      break;  // rejected by the constructor
  }
}

void Activation::backward(const BackwardCall& call) const {
  const Tensor& grad_input = call.grad_inputs[0];
  if (!grad_input.defined()) return;
  float* dx = grad_input.data<float>();
  const float* dy = call.grad_outputs[0].data<float>();
  const std::int64_t n = grad_input.numel();
  const float alpha = float(alpha_);
  // Exactly one of x (input) and y (output) is valid, per backward_needs().
  const bool from_output = backward_needs().outputs;
  const float* x = from_output ? nullptr : call.inputs[0].data<float>();
  const float* y = from_output ? call.outputs[0].data<float>() : nullptr;
  switch (kind_) {
    case ActivationKind::ReLU:  // y > 0 exactly where x > 0
      elementwise(n, [=](std::int64_t i) { dx[i] = y[i] > 0.0f ? dy[i] : 0.0f; });
      break;
    case ActivationKind::LeakyReLU:
      elementwise(n, [=](std::int64_t i) { dx[i] = x[i] > 0.0f ? dy[i] : alpha * dy[i]; });
      break;
    case ActivationKind::ELU:  // d/dx alpha (e^x - 1) = alpha e^x
      elementwise(
          n, [=](std::int64_t i) { dx[i] = x[i] > 0.0f ? dy[i] : dy[i] * alpha * std::exp(x[i]); });
      break;
    case ActivationKind::GELU:
      if (gelu_tanh_) {
        // d/dx x s(v) = s(v) + x s(v)(1 - s(v)) v', v = 2u, v' = 2 sqrt(2/pi)(1 + 3c x^2).
        // NOTE: beyond |x| = 30 the second term is exactly 0 in float; skipping it there avoids
        // 0 * inf when x^2 overflows.
        elementwise(n, [=](std::int64_t i) {
          const float xi = x[i];
          const float s = sigmoid(gelu_tanh_u2(xi));
          const float dv = 2.0f * kSqrt2OverPi * (1.0f + 3.0f * kGeluCubic * xi * xi);
          const float tail = xi * s * (1.0f - s) * dv;
          dx[i] = dy[i] * (s + (std::fabs(xi) < 30.0f ? tail : 0.0f));
        });
      } else {
        // d/dx x Phi(x) = Phi(x) + x phi(x); phi underflows to 0 (not NaN) for large |x|.
        elementwise(n, [=](std::int64_t i) {
          const float xi = x[i];
          const float cdf = 0.5f * std::erfc(-xi * kSqrt1_2);
          const float pdf = kInvSqrt2Pi * std::exp(-0.5f * xi * xi);
          dx[i] = dy[i] * (cdf + xi * pdf);
        });
      }
      break;
    case ActivationKind::SiLU:  // d/dx x s(x) = s (1 + x (1 - s))
      elementwise(n, [=](std::int64_t i) {
        const float s = sigmoid(x[i]);
        dx[i] = dy[i] * s * (1.0f + x[i] * (1.0f - s));
      });
      break;
    case ActivationKind::Sigmoid:
      elementwise(n, [=](std::int64_t i) { dx[i] = dy[i] * y[i] * (1.0f - y[i]); });
      break;
    case ActivationKind::Tanh:
      elementwise(n, [=](std::int64_t i) { dx[i] = dy[i] * (1.0f - y[i] * y[i]); });
      break;
    case ActivationKind::ReLU6:
    case ActivationKind::Clip: {  // 1 strictly inside the bounds (PyTorch's hardtanh backward)
      const float lo = float(alpha_), hi = float(beta_);
      elementwise(n, [=](std::int64_t i) { dx[i] = y[i] > lo && y[i] < hi ? dy[i] : 0.0f; });
      break;
    }
    case ActivationKind::HardSwish:  // 0 below -3, (2x + 3) / 6 up to 3, then 1 (PyTorch)
      elementwise(n, [=](std::int64_t i) {
        const float xi = x[i];
        dx[i] = xi < -3.0f ? 0.0f : xi <= 3.0f ? dy[i] * (xi / 3.0f + 0.5f) : dy[i];
      });
      break;
    case ActivationKind::HardSigmoid:  // 1/6 where 0 < y < 1 (there y is increasing in x)
      elementwise(
          n, [=](std::int64_t i) { dx[i] = y[i] > 0.0f && y[i] < 1.0f ? dy[i] / 6.0f : 0.0f; });
      break;
    case ActivationKind::None:
    case ActivationKind::Softmax:
      break;
  }
}

namespace {
std::shared_ptr<const Op> make_with_alpha(ActivationKind kind, const Attrs& attrs) {
  const double alpha = attrs.get_float("alpha", default_alpha(kind));
  if (alpha < 0) fail("{} alpha must be >= 0, got {}", kind_name(kind), alpha);
  return std::make_shared<Activation>(kind, ActivationAttrs{.alpha = alpha});
}
}  // namespace

std::shared_ptr<const Op> make_relu(const Attrs&) {
  return std::make_shared<Activation>(ActivationKind::ReLU);
}
std::shared_ptr<const Op> make_leaky_relu(const Attrs& attrs) {
  return make_with_alpha(ActivationKind::LeakyReLU, attrs);
}
std::shared_ptr<const Op> make_elu(const Attrs& attrs) {
  return make_with_alpha(ActivationKind::ELU, attrs);
}
std::shared_ptr<const Op> make_gelu(const Attrs& attrs) {
  const std::string approximate = attrs.get_string("approximate", "none");
  if (approximate != "none" && approximate != "tanh")
    fail("GELU approximate must be 'none' or 'tanh', got '{}'", approximate);
  return std::make_shared<Activation>(ActivationKind::GELU,
                                      ActivationAttrs{.gelu_tanh = approximate == "tanh"});
}
std::shared_ptr<const Op> make_silu(const Attrs&) {
  return std::make_shared<Activation>(ActivationKind::SiLU);
}
std::shared_ptr<const Op> make_sigmoid(const Attrs&) {
  return std::make_shared<Activation>(ActivationKind::Sigmoid);
}
std::shared_ptr<const Op> make_tanh(const Attrs&) {
  return std::make_shared<Activation>(ActivationKind::Tanh);
}
std::shared_ptr<const Op> make_relu6(const Attrs&) {
  return std::make_shared<Activation>(ActivationKind::ReLU6);
}
std::shared_ptr<const Op> make_clip(const Attrs& attrs) {
  return std::make_shared<Activation>(
      ActivationKind::Clip,
      ActivationAttrs{.min = attrs.get_float("min", 0.0), .max = attrs.get_float("max", 6.0)});
}
std::shared_ptr<const Op> make_hard_swish(const Attrs&) {
  return std::make_shared<Activation>(ActivationKind::HardSwish);
}
std::shared_ptr<const Op> make_hard_sigmoid(const Attrs&) {
  return std::make_shared<Activation>(ActivationKind::HardSigmoid);
}

}  // namespace convkit::ops
