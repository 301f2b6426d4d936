// Backend: turns (op, shapes, mode) into a Kernel. Chosen once when a plan is compiled; the
// rest of the engine never asks "which device?". Backends: "reference" (plain loops, the test
// oracle), "cpu" (oneDNN primitives + vectorized loops), later "cuda".
#pragma once

#include "backend/kernel.h"

#include <memory>
#include <string_view>
#include <vector>

namespace convkit::backend {

class Backend {
 public:
  virtual ~Backend() = default;
  virtual std::string_view name() const = 0;
  // A fast kernel for this request, or nullptr when the backend has none (the reference kernel
  // is used instead).
  virtual std::unique_ptr<Kernel> make_kernel(const KernelRequest& request) = 0;
  // The layouts the kernel for `request` could use (the request's inputs carry the layouts
  // already chosen for them, which may decide the offer for its outputs).
  virtual LayoutOffer layout_offer(const KernelRequest& /*request*/) { return {}; }
};

// make_kernel with the reference fallback applied (only for all-Plain requests: the reference
// kernels read row-major tensors; a blocked request without a kernel is an Error).
std::unique_ptr<Kernel> make_kernel_or_reference(Backend& backend, const KernelRequest& request);

// "cpu" or "reference"; throws Error listing the available names otherwise.
std::unique_ptr<Backend> make_backend(std::string_view name);
std::vector<std::string_view> backend_names();

}  // namespace convkit::backend
