// Kernel: one node's compiled implementation for one backend and one set of input shapes.
// Created once by Plan compilation (primitives built in the constructor), then called every
// step; forward/backward must not allocate heap memory after their first call.
#pragma once

#include "ops/op.h"

#include <convkit/tensor/device.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

namespace convkit::backend {

using ops::BackwardCall;
using ops::ForwardCall;
using ops::Mode;
using ops::TensorSpec;

// How a 4-D activation [N, C, H, W] is stored. Plain: row-major NCHW. Blocked16: the channels in
// blocks of 16, innermost: [N, C/16, H, W, 16] (oneDNN's nChw16c), only where C % 16 == 0, so it
// takes the same bytes as Plain. The plan chooses Blocked16 for a value only between kernels that
// read and write it (graph/plan.cpp); reference kernels, graph inputs and outputs see Plain.
enum class Layout : std::uint8_t { Plain, Blocked16 };

class Kernel {
 public:
  virtual ~Kernel() = default;
  virtual std::string_view name() const = 0;  // "ref", "onednn"; shown by profiling
  // Tensors kept from forward to backward (Train mode), e.g. a pooling workspace.
  virtual std::vector<TensorSpec> saved() const = 0;
  // Transient memory for one forward or backward call.
  virtual std::size_t scratch_bytes() const { return 0; }
  virtual void forward(const ForwardCall& call) = 0;
  virtual void backward(const BackwardCall& call) = 0;
};

// What a backend is asked to build a kernel for.
struct KernelRequest {
  const ops::Op& op;
  std::vector<TensorSpec> inputs;
  std::vector<TensorSpec> outputs;
  Mode mode = Mode::Infer;
  bool backward = false;          // backward() will be called (Train mode, some grad needed)
  bool param_grads = false;       // weight gradients are needed (the layer is not frozen)
  std::vector<bool> input_grads;  // per input: its gradient is needed
  // How each input and output is stored; a missing entry (or an empty vector) means Plain.
  std::vector<Layout> input_layouts, output_layouts;
  Device device;  // where the kernel's tensors live (the backend's device)
  // The calls carry ForwardCall::batch_sums (synchronised batch statistics): kernels that gather
  // batch statistics must use it, or not be offered for this request.
  bool batch_sums = false;

  Layout input_layout(std::size_t k) const {
    return k < input_layouts.size() ? input_layouts[k] : Layout::Plain;
  }
  Layout output_layout(std::size_t k) const {
    return k < output_layouts.size() ? output_layouts[k] : Layout::Plain;
  }
  // Every input and output is Layout::Plain (what kernels without a layout offer require).
  bool all_plain() const {
    for (const auto* layouts : {&input_layouts, &output_layouts})
      for (Layout l : *layouts)
        if (l != Layout::Plain) return false;
    return true;
  }
};

// Which of a kernel's tensors it can take in Layout::Blocked16 (by input and output index; a
// missing entry means Plain only). The plan asks before building kernels and then states each
// tensor's layout in the KernelRequest's input_layouts and output_layouts.
struct LayoutOffer {
  std::vector<bool> inputs, outputs;
  // The kernel writes its outputs in its inputs' layout (no conversion): the plan then stores an
  // input blocked only where the outputs can be stored blocked too.
  bool same_layout = false;
};

// The op's own reference kernel, wrapped as a Kernel: every op runs on every backend whose
// memory the host can read. Its loops read host memory only: a request on another device fails
// when the kernel is built, and a call handed a tensor on another device fails on its first call
// (the plan binds its tensors once, so later calls see the same ones).
class ReferenceKernel final : public Kernel {
 public:
  explicit ReferenceKernel(const KernelRequest& request);
  std::string_view name() const override { return "ref"; }
  std::vector<TensorSpec> saved() const override { return saved_; }
  void forward(const ForwardCall& call) override;
  void backward(const BackwardCall& call) override;

 private:
  const ops::Op& op_;
  std::vector<TensorSpec> saved_;
  bool forward_checked_ = false, backward_checked_ = false;
};

}  // namespace convkit::backend
