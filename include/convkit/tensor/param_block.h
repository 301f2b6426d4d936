// The flat parameter block: every parameter tensor of a model in one float arena, the
// gradients in a second arena of the same layout (P = numel floats each), the slots that carve
// both up, and the event backward reports finished gradients with. graph/ lays the block out
// (graph::ParamStore), optim/ updates it, dist/ all-reduces its gradients; it lives here, below
// all of them, so none of them points up the layer table.
#pragma once

#include <convkit/tensor/tensor.h>

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace convkit {

// One parameter tensor inside the flat arenas; offset/numel in elements (floats).
struct ParamSlot {
  std::string name;
  std::int64_t offset = 0;
  std::int64_t numel = 0;
  bool trainable = true;  // false: frozen, neither read nor written by the optimizer
  bool decay = true;      // false: no weight decay / L1 (biases, batch-norm scale and shift)
  // Per-slot coefficients added to Regularization's on decayed slots: the gradient gains
  // l1*sign(w) + l2*w (a layer's Keras-style penalty l2*sum(w^2) arrives here as l2 = 2*l2).
  float l1 = 0;
  float l2 = 0;
  // The slot's learning rate is the optimizer's lr times this (>= 0, finite): a parameter
  // group's multiplier for fine-tuning (nn::Model::set_lr_multiplier). 0 leaves the values
  // unchanged while the optimizer state still advances, as a PyTorch group with lr = 0.
  double lr_multiplier = 1;
};

// The parameters, their gradients (same layout) and the slots that carve them up.
struct ParamBlock {
  float* params = nullptr;
  // Read only: clipping and decay are applied on the fly. (A distributed run all-reduces the
  // gradient arena in place between backward and the optimizer step, through the writable
  // ranges GradientReady hands out.)
  const float* grads = nullptr;
  std::int64_t numel = 0;
  std::span<const ParamSlot> slots;
};

// Named optimizer state for checkpoints: each tensor is f32 of shape [P].
using OptimizerState = std::vector<std::pair<std::string, Tensor>>;

// Backward's signal that one layer's parameter gradients are final (backward runs layers in
// reverse topological order; once a layer's backward returns, nothing writes its parameters'
// gradients again in that pass), so a distributed run can start their all-reduce while the
// earlier layers still run backward.
struct GradientReady {
  std::string_view layer;      // the layer (graph node) whose backward finished
  std::span<const int> slots;  // its trainable parameters: indices into ParamBlock::slots
  // [offset, offset + numel) of the gradient arena, the smallest range holding those slots
  // (with any alignment padding between them), and the gradients there.
  std::int64_t offset = 0;
  std::int64_t numel = 0;
  std::span<float> grads;
};
using GradientReadyHook = std::function<void(const GradientReady&)>;

}  // namespace convkit
