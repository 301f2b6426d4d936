// Op: the contract every operation fulfils. An op knows its attributes, its shape rule, the
// parameters it owns, and a plain reference kernel for forward and backward (the test oracle;
// fast kernels live in backend/). Ops are immutable once built and shared between plans.
//
// Conventions: dim 0 of every activation is the batch N; images are [N, C, H, W]. Backward
// *overwrites* grad_inputs and grad_params (the planner sums gradients of values with several
// consumers). An undefined Tensor in grad_inputs/grad_params means "not needed": skip it.
#pragma once

#include <convkit/ops/activation_kind.h>
#include <convkit/tensor/init.h>
#include <convkit/tensor/tensor.h>

#include "ops/attrs.h"

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace convkit::ops {

enum class Mode : std::uint8_t { Train, Infer };

// An activation folded into the op before it (conv+bias+ReLU/tanh/sigmoid/ReLU6, BN+ReLU),
// applied to the output: one of the kinds whose activation_table() row says `fuses` (the
// reference kernels implement them too). Each has a derivative written in terms of the output y
// alone, so backward needs y (not the pre-activation): ReLU masks dy with y > 0, ReLU6 with
// 0 < y < 6, tanh multiplies it by 1 - y^2, sigmoid by y (1 - y).
using FusedActivation = convkit::ActivationKind;
std::string_view name_of(FusedActivation a);  // the activation table's name: "relu"
// A kind that fuses, or None; throws Error naming the unknown or unfusable name.
FusedActivation fused_activation_from_name(std::string_view name);
// Throws Error unless `a` is None or a kind that fuses (for the ops' constructors).
void expect_fusable(std::string_view op, FusedActivation a);

// sigmoid(x) without overflow: with e = exp(-|x|) <= 1, 1/(1+e) for x >= 0 and e/(1+e) below
// (the Sigmoid op and the fused activation share it).
inline float sigmoid(float x) {
  const float e = std::exp(-std::fabs(x));
  const float s = 1.0f / (1.0f + e);
  return x >= 0.0f ? s : e * s;
}

// The activation of a pre-activation value s.
inline float apply_fused(FusedActivation a, float s) {
  switch (a) {
    case FusedActivation::ReLU:
      return s > 0.0f ? s : 0.0f;
    case FusedActivation::Tanh:
      return std::tanh(s);
    case FusedActivation::Sigmoid:
      return sigmoid(s);
    case FusedActivation::ReLU6:
      return s > 0.0f ? (s < 6.0f ? s : 6.0f) : 0.0f;
    default:
      return s;
  }
}

// The gradient with respect to the pre-activation, from the output y and its gradient dy.
inline float fused_grad(FusedActivation a, float y, float dy) {
  switch (a) {
    case FusedActivation::ReLU:
      return y > 0.0f ? dy : 0.0f;
    case FusedActivation::Tanh:
      return dy * (1.0f - y * y);
    case FusedActivation::Sigmoid:
      return dy * y * (1.0f - y);
    case FusedActivation::ReLU6:
      return y > 0.0f && y < 6.0f ? dy : 0.0f;
    default:
      return dy;
  }
}

// A value's shape and element type. How a backend stores it in memory (backend::Layout) is the
// plan's and the backend's business: the reference kernels here always see row-major tensors.
struct TensorSpec {
  Shape shape;
  DType dtype = DType::f32;
  friend bool operator==(const TensorSpec&, const TensorSpec&) = default;
};

// A parameter (trainable) or buffer (non-trainable state such as BatchNorm running statistics)
// owned by one node. Order in Op::params() is the order of ForwardCall::params.
struct ParamSpec {
  std::string name;  // "weight", "bias", "gamma", "beta", "running_mean", "running_var"
  Shape shape;
  Init init;  // the op's default (PyTorch-compatible); layers may override
  std::int64_t fan_in = 1;
  std::int64_t fan_out = 1;
  bool trainable = true;  // false: a buffer, updated by forward in Train mode, never by optimizers
  bool decay = true;      // whether L1/L2 weight decay applies (false for biases and norm params)
};

// Which forward tensors the reference backward reads. The memory planner keeps exactly these
// alive until the node's backward step (plus the tensors from saved()).
struct BackwardNeeds {
  bool inputs = true;
  bool outputs = false;
};

// Data-parallel training with synchronised batch statistics: sums the values in place over every
// rank of the job (the plan hands it to the ops that gather batch statistics: BatchNorm).
using BatchSums = std::function<void(std::span<double>)>;

struct ForwardCall {
  std::span<const Tensor> inputs;
  std::span<const Tensor> outputs;  // written by forward (Tensor views are writable when const)
  std::span<const Tensor> params;   // read; buffers are also updated in Train mode
  std::span<const Tensor> saved;    // written in Train mode for backward (see Op::saved)
  std::span<std::byte> scratch;     // transient memory of Kernel::scratch_bytes()
  Mode mode = Mode::Infer;
  std::uint64_t rng_key = 0;              // this node's random stream (stochastic ops: dropout)
  std::uint64_t step = 0;                 // training step counter: new random numbers every step
  const BatchSums* batch_sums = nullptr;  // set: batch statistics are the job's (see BatchSums)
};

struct BackwardCall {
  std::span<const Tensor> inputs;   // valid when backward_needs().inputs
  std::span<const Tensor> outputs;  // valid when backward_needs().outputs
  std::span<const Tensor> params;
  std::span<const Tensor> saved;
  std::span<const Tensor> grad_outputs;
  std::span<const Tensor> grad_inputs;  // overwritten; undefined entries are skipped
  std::span<const Tensor> grad_params;  // overwritten; undefined entries (frozen, buffers) skipped
  std::span<std::byte> scratch;
  std::uint64_t rng_key = 0;
  std::uint64_t step = 0;
  std::span<const TensorSpec> input_specs;  // every input's spec, even when inputs are not kept
  Mode mode = Mode::Train;                  // the mode the matching forward ran in
  const BatchSums* batch_sums = nullptr;    // as ForwardCall::batch_sums
};

class Op {
 public:
  virtual ~Op() = default;

  virtual std::string_view type() const = 0;  // "Conv2D"; the registry and ONNX key
  virtual Attrs attrs() const = 0;            // enough to rebuild the op with make_op()

  // Output specs for these inputs. Throws ShapeError with a message that states what was
  // expected and what was given (the graph adds the layer name).
  virtual std::vector<TensorSpec> infer(std::span<const TensorSpec> inputs) const = 0;

  // Parameters and buffers this op owns for these inputs (shapes may depend on them).
  virtual std::vector<ParamSpec> params(std::span<const TensorSpec> /*inputs*/) const { return {}; }

  // Tensors the reference kernel keeps from forward to backward (e.g. a dropout mask,
  // batch-norm batch statistics). Only used in Train mode.
  virtual std::vector<TensorSpec> saved(std::span<const TensorSpec> /*inputs*/) const { return {}; }

  virtual BackwardNeeds backward_needs() const { return {}; }

  // False for inputs that never get a gradient (class labels of a loss).
  virtual bool differentiable(int /*input*/) const { return true; }

  // Forward floating-point operations for these inputs (a multiply-add counts 2).
  virtual double flops(std::span<const TensorSpec> /*inputs*/) const { return 0; }

  virtual void forward(const ForwardCall& call) const = 0;
  virtual void backward(const BackwardCall& call) const = 0;
};

// Helper for shape rules: throws ShapeError unless there are exactly `n` inputs.
void expect_inputs(std::string_view op, std::span<const TensorSpec> inputs, int n);
// Throws ShapeError unless input `i` has rank `rank` ("[N, C, H, W]" names the dims).
void expect_rank(std::string_view op, const TensorSpec& input, int rank, std::string_view dims);

}  // namespace convkit::ops
