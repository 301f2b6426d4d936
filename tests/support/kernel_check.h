// Test support: checks a backend's fast kernel against the op's reference kernel on the same
// random data (forward outputs, updated buffers, input and parameter gradients).
#pragma once

#include "backend/kernel.h"
#include "ops/op.h"

#include <cstdint>
#include <memory>
#include <vector>

namespace convkit::testing {

using KernelFactory = std::unique_ptr<backend::Kernel> (*)(const backend::KernelRequest&);

struct KernelCheckOptions {
  ops::Mode mode = ops::Mode::Train;
  bool backward = true;           // also run and compare backward (Train mode)
  bool param_grads = true;        // request weight gradients (false: a frozen layer)
  std::vector<bool> input_grads;  // per input; empty = every differentiable input
  // Pass when max |fast - ref| <= tolerance * max(1, max |ref|) for every tensor compared.
  float tolerance = 1e-4f;
  std::uint64_t seed = 1;
  float input_scale = 1.0f;         // inputs are N(0, input_scale^2)
  bool expect_fast = true;          // fail when the backend falls back to the reference kernel
  KernelFactory factory = nullptr;  // the fast kernel's maker; nullptr = the CPU backend's
  // Synchronised batch statistics: handed to both kernels' calls (and announced in the request).
  const ops::BatchSums* batch_sums = nullptr;
};

// The KernelRequest for `op` on inputs of these shapes under `options`.
backend::KernelRequest make_request(const ops::Op& op, const std::vector<Shape>& input_shapes,
                                    const KernelCheckOptions& options);

// The CPU backend's kernel for this request (nullptr when it has none: the reference runs).
std::unique_ptr<backend::Kernel> make_cpu_kernel(const backend::KernelRequest& request);

// Builds the CPU backend's kernel and the reference kernel for the same request and checks
// that they agree. The fast kernel runs twice, on two sets of buffers (so its memory handles
// must follow new pointers), with scratch, outputs, saved tensors and gradients pre-filled
// with NaN (so it must write everything and not rely on scratch surviving between calls).
// In backward, inputs/outputs the op's backward_needs() does not keep are passed undefined.
// Reports through GoogleTest, naming the tensor and the first bad element.
void expect_kernel_matches_reference(const ops::Op& op, const std::vector<Shape>& input_shapes,
                                     const KernelCheckOptions& options = {});

// Compares two f32 tensors of one shape with the rule above; `what` names them in failures.
void expect_close(const Tensor& fast, const Tensor& ref, float tolerance, const std::string& what);

}  // namespace convkit::testing
