// Backend: turns (op, shapes, mode) into a Kernel, owns the memory those kernels run on and the
// context they run in. Chosen once when a plan is compiled; the rest of the engine never asks
// "which device?". Backends: "reference" (plain loops, the test oracle), "cpu" (oneDNN
// primitives + vectorized loops), later "cuda". Both host backends share backend/cpu/'s memory
// operations and OpenMP context (cpu::HostBackend).
//
// Memory belongs to the backend: the planner decides sizes and lifetimes, then asks its backend
// for one Buffer (as ggml's allocator asks the backend for its buffer type) and views tensors in
// it; the loss seed, gradient fan-in and copies go through fill/accumulate/copy, so no host loop
// touches device memory. A backend instance is shared by the plans of a run (shared_backend):
// its methods must not keep per-plan state.
#pragma once

#include "backend/kernel.h"

#include <convkit/tensor/buffer.h>

#include <cstddef>
#include <memory>
#include <string_view>
#include <vector>

namespace convkit::backend {

class Backend {
 public:
  virtual ~Backend() = default;
  virtual std::string_view name() const = 0;

  // ---- Kernels
  // A fast kernel for this request, or nullptr when the backend has none (the reference kernel
  // is used instead).
  virtual std::unique_ptr<Kernel> make_kernel(const KernelRequest& request) = 0;
  // The layouts the kernel for `request` could use (the request's inputs carry the layouts
  // already chosen for them, which may decide the offer for its outputs).
  virtual LayoutOffer layout_offer(const KernelRequest& /*request*/) { return {}; }

  // ---- Memory (tensors on device(); called at compile time or once per buffer per step)
  virtual Device device() const = 0;
  // A zeroed block of at least `bytes` on device(), kAlignment-aligned.
  virtual Buffer allocate(std::size_t bytes) = 0;
  // dst[i] = value (f32, contiguous).
  virtual void fill(const Tensor& dst, float value) = 0;
  // dst = src (same shape and dtype, contiguous).
  virtual void copy(const Tensor& dst, const Tensor& src) = 0;
  // dst += src (f32, same shape, contiguous): the sum of a value's gradient contributions.
  virtual void accumulate(const Tensor& dst, const Tensor& src) = 0;

  // ---- Execution context (use ExecutionScope)
  // Enters the context a plan's kernels are built and run in, for `threads` threads (0: leave
  // the caller's setting): on CPU the OpenMP team size. Returns what leave() restores.
  virtual int enter(int threads) = 0;
  virtual void leave(int saved) = 0;
  // The team size kernels built and run now get (on CPU: omp_get_max_threads()).
  virtual int threads() const = 0;
};

// The backend's execution context for a scope: kernels are built (oneDNN sizes its work split
// from the OpenMP team size then) and run inside one. Two virtual calls per scope.
class ExecutionScope {
 public:
  ExecutionScope(Backend& backend, int threads)
      : backend_(backend), saved_(backend.enter(threads)) {}
  ~ExecutionScope() { backend_.leave(saved_); }
  ExecutionScope(const ExecutionScope&) = delete;
  ExecutionScope& operator=(const ExecutionScope&) = delete;

 private:
  Backend& backend_;
  int saved_;
};

// make_kernel with the reference fallback applied (only for all-Plain requests: the reference
// kernels read row-major tensors; a blocked request without a kernel is an Error).
std::unique_ptr<Kernel> make_kernel_or_reference(Backend& backend, const KernelRequest& request);

// A new instance of "cpu" or "reference"; throws Error listing the available names otherwise.
std::unique_ptr<Backend> make_backend(std::string_view name);
// The process's one instance of that backend, made on first use: what plans compile for by
// default, so the plans of a run share one backend context.
std::shared_ptr<Backend> shared_backend(std::string_view name);
std::vector<std::string_view> backend_names();

}  // namespace convkit::backend
