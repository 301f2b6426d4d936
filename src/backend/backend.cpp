// Backend selection and the reference fallback.
#include "backend/backend.h"

#include "backend/cpu/cpu_backend.h"

#include <fmt/ranges.h>

namespace convkit::backend {

ReferenceKernel::ReferenceKernel(const KernelRequest& request)
    : op_(request.op), saved_(request.op.saved(request.inputs)) {}

namespace {
class ReferenceBackend final : public Backend {
 public:
  std::string_view name() const override { return "reference"; }
  std::unique_ptr<Kernel> make_kernel(const KernelRequest&) override { return nullptr; }
};
}  // namespace

std::unique_ptr<Kernel> make_kernel_or_reference(Backend& backend, const KernelRequest& request) {
  if (auto kernel = backend.make_kernel(request)) return kernel;
  if (!request.all_plain())
    fail("internal error: backend '{}' offered the blocked layout for {} on input {} but built no "
         "kernel for it (compile with blocked_layouts = false to work around)",
         backend.name(), request.op.type(), request.inputs.empty() ? std::string("-") : request.inputs[0].shape.str());
  return std::make_unique<ReferenceKernel>(request);
}

std::vector<std::string_view> backend_names() { return {"cpu", "reference"}; }

std::unique_ptr<Backend> make_backend(std::string_view name) {
  if (name == "cpu") return cpu::make_cpu_backend();
  if (name == "reference") return std::make_unique<ReferenceBackend>();
  fail("unknown backend '{}' (available: {})", name, fmt::join(backend_names(), ", "));
}

}  // namespace convkit::backend
