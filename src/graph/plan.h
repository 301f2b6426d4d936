// Plan: a graph compiled for one batch size, mode and backend. Compilation infers shapes, fuses
// activations, builds every kernel (and so every oneDNN primitive) once, and plans all
// activation, gradient and saved memory by liveness into one arena, which it asks its backend
// for (so the arena lives on the backend's device). forward()/backward() then only run kernels,
// inside the backend's execution context: a training step allocates nothing.
//
// Timeline used for liveness: forward step i runs at time i; the backward of step i at time
// 2S-1-i (S = number of steps). Graph inputs and outputs are pinned for the whole plan.
#pragma once

#include "backend/backend.h"
#include "graph/fusion.h"
#include "graph/param_store.h"

#include <map>
#include <memory>
#include <string>
#include <vector>

namespace convkit::graph {

struct CompileOptions {
  std::int64_t batch = 1;
  ops::Mode mode = ops::Mode::Infer;
  std::string backend = "cpu";
  // The backend instance to compile for (one context shared by the plans of a run); null: the
  // process's shared instance of `backend` (backend::shared_backend). Plan::options().backend
  // names the backend used either way.
  std::shared_ptr<backend::Backend> context;
  bool fuse = true;  // fold activations into the op before them (or a max pooling after them);
                     // Flatten/Reshape become views of their input (graph/fusion.h)
  // Store activations blocked (nChw16c) between kernels that can read and write it, instead of
  // reordering them to NCHW and back at every kernel boundary (see choose_layouts in plan.cpp).
  bool blocked_layouts = true;
  std::uint64_t seed = 0;  // random streams of stochastic ops (dropout)
  // OpenMP threads the plan's kernels are built for and run on: 0 = automatic (one thread for
  // inference plans under kSingleThreadFlops per call, where fork/join costs more than the
  // work; otherwise the caller's setting), n > 0 = n threads.
  int threads = 0;
  // Data-parallel training with synchronised batch norm: sums batch statistics over the ranks
  // (ops::BatchSums); empty: each process normalizes with its own batch.
  ops::BatchSums batch_sums;
};

// Forward FLOPs per call below which an automatic inference plan runs on one thread.
inline constexpr double kSingleThreadFlops = 2e6;

// What compile decided for one node, for summaries, profiling and tests.
struct StepInfo {
  std::string node;
  std::string op;      // op type after fusion ("Conv2D")
  std::string kernel;  // "onednn", "ref"
  bool backward = false;
  std::vector<backend::Layout> output_layouts;  // how the node's outputs are stored
};

class Plan {
 public:
  // In Train mode graph output 0 must be the scalar loss [1]; backward seeds its gradient with 1.
  Plan(const Graph& graph, ParamStore& params, const CompileOptions& options);
  ~Plan();
  Plan(const Plan&) = delete;
  Plan& operator=(const Plan&) = delete;

  // Bound buffers: write inputs before forward(), read outputs after.
  const Tensor& input(int i) const { return inputs_.at(i); }
  const Tensor& output(int i) const { return outputs_.at(i); }
  int num_inputs() const { return static_cast<int>(inputs_.size()); }
  int num_outputs() const { return static_cast<int>(outputs_.size()); }

  void forward();
  void backward();  // Train mode only; writes parameter gradients into the ParamStore

  // Called in backward() right after each node whose trainable parameters' gradients are then
  // final (reverse topological order; each trainable parameter once per backward, frozen ones
  // never). The events are laid out at compile time: a call allocates nothing, and without a
  // hook backward() only tests one flag per node. Empty `hook` removes it.
  void set_gradient_ready_hook(GradientReadyHook hook) { gradient_ready_ = std::move(hook); }

  const CompileOptions& options() const { return options_; }
  std::uint64_t step() const { return step_; }
  void set_step(std::uint64_t step) { step_ = step; }  // resume: the RNG counter of dropout
  int threads() const { return threads_; }  // resolved CompileOptions::threads (0: caller's)
  // Between steps: run on `threads` (> 0) threads from now on. The kernels are rebuilt for that
  // count (oneDNN fixes a primitive's work split when it is created); memory, bindings and the
  // step counter stay, and the kernels of every count used before are kept, so switching back
  // costs nothing. Returns false and changes nothing where the new kernels would not fit the
  // plan's memory (another saved tensor, more scratch than planned).
  bool set_threads(int threads);
  backend::Backend& backend() const { return *backend_; }  // shared with the run's other plans

  std::size_t arena_bytes() const { return arena_.size(); }  // activations, grads, saved, scratch
  std::size_t unplanned_bytes() const { return unplanned_bytes_; }  // the same without reuse
  std::vector<StepInfo> steps() const;

  // Per-step wall-clock timing of forward/backward calls (for profiling; off by default).
  void set_profiling(bool on);
  std::string profile_report() const;  // a table: node, kernel, forward ms, backward ms, share

 private:
  struct Step;
  void build(const Graph& graph, ParamStore& params);
  void choose_layouts(const Graph& graph, std::vector<backend::KernelRequest>& requests,
                      const std::vector<ops::TensorSpec>& specs,
                      std::vector<backend::Layout>& layouts);
  void plan_gradient_ready(const Graph& graph, const ParamStore& params);

  CompileOptions options_;
  std::shared_ptr<backend::Backend> backend_;
  FusedGraph fused_;
  std::vector<std::unique_ptr<Step>> steps_;
  std::vector<backend::KernelRequest> requests_;  // per step, to rebuild kernels (set_threads)
  std::size_t scratch_capacity_ = 0;              // the arena's scratch region
  int kernel_threads_ = 0;                        // the team size the current kernels are built for
  std::map<int, std::vector<std::unique_ptr<backend::Kernel>>> spare_kernels_;  // by team size
  Arena arena_;  // from backend_->allocate: on the backend's device
  std::vector<Tensor> inputs_, outputs_;
  Tensor loss_grad_;
  std::size_t unplanned_bytes_ = 0;
  std::uint64_t step_ = 0;
  int threads_ = 0;  // resolved CompileOptions::threads; 0 = leave OpenMP as the caller set it
  bool profiling_ = false;
  std::vector<double> forward_seconds_, backward_seconds_, accumulate_seconds_;
  std::int64_t profiled_forwards_ = 0, profiled_backwards_ = 0;
  // Gradient-ready hook: per step, the event its backward completes (no slots: none).
  GradientReadyHook gradient_ready_;
  std::vector<GradientReady> ready_events_;
  std::vector<std::vector<int>> ready_slots_;  // what ready_events_[i].slots points at
};

}  // namespace convkit::graph
