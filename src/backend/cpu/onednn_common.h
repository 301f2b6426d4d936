// oneDNN plumbing shared by the CPU backend's kernels (internal: included only by
// src/backend/cpu/*.cpp, never by a header outside this folder, so dnnl.hpp stays contained).
//
// The central piece is Program: a fixed sequence of oneDNN primitives over memory "slots",
// built once when a kernel is constructed. A slot is either
//   - external: a tensor of the call (input, output, parameter, gradient, saved), whose data
//     handle is set with bind() each call and only changes (set_data_handle) when the pointer
//     differs from last time, or
//   - temporary: a buffer at a planned offset of the call's scratch span (reorder targets,
//     intermediate results, the primitives' user scratchpads); temporaries whose lifetimes
//     (the steps using them) do not overlap share memory.
// Running a program executes its steps through the C API with argument arrays built once, so
// a call allocates no heap memory in our code. NOTE: oneDNN 2.6's dnnl_primitive_execute
// itself allocates a few small blocks per call (it copies the arguments into a hash map).
#pragma once

#include "backend/kernel.h"
#include "ops/activation_table.h"

#include <dnnl.hpp>

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <span>
#include <utility>
#include <vector>

namespace convkit::backend::cpu {

using dnnl::memory;
using Tag = memory::format_tag;

// Process-wide CPU engine and stream (created on first use).
const dnnl::engine& cpu_engine();
dnnl::stream& cpu_stream();

memory::dims to_dims(const Shape& shape);
// A plain row-major f32 desc (nchw for 4-D, nc for 2-D, ...) of any rank.
memory::desc plain_desc(const memory::dims& dims);
inline memory::desc plain_desc(const Shape& shape) {
  return plain_desc(to_dims(shape));
}
// The desc of an activation tensor as the plan stores it: plain, or nChw16c for Blocked16.
memory::desc activation_desc(const ops::TensorSpec& spec, Layout layout);
// An f32 desc that lets the primitive choose its layout (format_tag::any).
memory::desc any_desc(const memory::dims& dims);

// The oneDNN column of the activation table: an eltwise algorithm and its alpha/beta.
struct Eltwise {
  dnnl::algorithm alg;
  float alpha = 0.0f, beta = 0.0f;
};
// oneDNN's eltwise computing `kind` with the op's parameters (alpha, beta as ops::Activation
// reports them; gelu_tanh for GELU); from_output selects the variant whose backward reads y.
// nullopt when oneDNN has none (the reference kernel runs instead).
std::optional<Eltwise> eltwise_of(ops::ActivationKind kind, bool from_output, float alpha = 0.0f,
                                  float beta = 0.0f, bool gelu_tanh = false);
// The same for a fused activation (its default parameters); throws Error when there is none.
Eltwise fused_eltwise(ops::FusedActivation activation, bool from_output);

// Attributes every kernel uses: user-managed scratchpad, optionally a fused-activation post-op.
dnnl::primitive_attr make_attr(ops::FusedActivation post_op = ops::FusedActivation::None);

// An inference eltwise primitive computing a fused activation on tensors of desc `md`.
dnnl::eltwise_forward::primitive_desc eltwise_forward_pd(ops::FusedActivation activation,
                                                         const memory::desc& md);

// A kernel's prebuilt primitive sequence (see the top of this file).
class Program {
 public:
  using Slot = int;

  // A tensor of the call, described by `md`; bound each call with bind().
  Slot external(const memory::desc& md);
  // A buffer in the call's scratch span. Offsets are planned from the steps that use it:
  // temporaries whose uses do not overlap share memory (so do the primitives' scratchpads).
  Slot temporary(const memory::desc& md);
  // `slot` itself when its desc equals `want`, else a new temporary in layout `want`.
  Slot staging(Slot slot, const memory::desc& want);
  // Appends a reorder from one slot to another (nothing when they are the same slot).
  void copy(Slot from, Slot to);
  // Keeps a temporary's contents until the end of run() (to read it afterwards with data());
  // call it after the steps that write it.
  void keep(Slot slot);

  // Subsequent steps belong to group `g` (0..31); run() can skip groups (e.g. no weight grads).
  void set_group(int g) { group_ = g; }
  // Appends a primitive built from `pd` with (DNNL_ARG_*, slot) arguments; its scratchpad, if
  // any, is a temporary used by this step only.
  void add(const dnnl::primitive_desc_base& pd, std::initializer_list<std::pair<int, Slot>> args);
  void add(const dnnl::primitive_desc_base& pd, const std::vector<std::pair<int, Slot>>& args);

  const memory::desc& desc(Slot slot) const { return slots_[slot].md; }
  // The memory a slot points at now (a kept temporary: valid after run(), until the next call).
  void* data(Slot slot) const { return slots_[slot].data; }
  bool empty() const { return steps_.empty(); }
  // Bytes of scratch run() needs.
  std::size_t scratch_bytes() const { return scratch_bytes_; }

  // Points an external slot at `data` (set_data_handle only when it changed).
  void bind(Slot slot, void* data);
  void bind(Slot slot, const Tensor& t) { bind(slot, t.raw()); }
  // Executes the steps of the groups in `groups` (bit g = group g) in order; throws Error when
  // the scratch span is too small or an external slot used by a step is unbound.
  void run(std::span<std::byte> scratch, std::uint32_t groups = ~0u);

 private:
  struct SlotInfo {
    memory::desc md;
    memory mem;
    void* data = nullptr;
    bool temporary = false;
    int first = -1, last = -1;  // steps using a temporary
    std::size_t offset = 0;     // of a temporary in scratch (planned)
  };
  struct Step {
    dnnl::primitive prim;
    std::vector<dnnl_exec_arg_t> args;
    std::vector<Slot> externals;  // checked for a bound pointer before running
    int group = 0;
  };
  Slot new_slot(const memory::desc& md, bool temporary);
  void use(Slot slot, int step);
  void plan();  // assigns temporaries' offsets (first fit over lifetimes)

  std::vector<SlotInfo> slots_;
  std::vector<Step> steps_;
  std::size_t scratch_bytes_ = 0;
  std::byte* bound_scratch_ = nullptr;
  int group_ = 0;
};

// The gradient a backward program starts from at an output y with a fused activation: adds the
// external slots dy and (with an activation) y, both of desc `md`, and, with an activation, a
// step computing grad = dy * f'(y) in a temporary (ReLU: y > 0, tanh: 1 - y^2, sigmoid:
// y (1 - y), ReLU6: 0 < y < 6); without one, grad is dy itself.
struct OutputGradient {
  Program::Slot dy = -1, y = -1, grad = -1;
};
OutputGradient add_output_gradient(Program& program, ops::FusedActivation activation,
                                   const memory::desc& md);

// Runs a factory body, turning "oneDNN has no implementation for this" into nullptr so the
// reference kernel runs instead.
template <typename Make>
auto build_or_null(Make&& make) -> decltype(make()) {
  try {
    return make();
  } catch (const dnnl::error&) {
    return nullptr;
  }
}

}  // namespace convkit::backend::cpu
