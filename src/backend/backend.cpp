// Backend selection, the shared instances, and the reference fallback.
#include "backend/backend.h"

#include "backend/cpu/cpu_backend.h"
#include "backend/cpu/host_backend.h"

#include <fmt/ranges.h>

#include <map>
#include <mutex>
#include <string>

namespace convkit::backend {

ReferenceKernel::ReferenceKernel(const KernelRequest& request)
    : op_(request.op), saved_(request.op.saved(request.inputs)) {
  if (!request.device.is_host())
    fail(
        "the reference kernel of {} runs host loops and cannot run on {} memory (the backend "
        "needs a kernel of its own for it)",
        request.op.type(), request.device.str());
}

namespace {
// The first tensor of `tensors` not in host memory, or nullptr.
const Tensor* off_host(std::span<const Tensor> tensors) {
  for (const Tensor& t : tensors)
    if (!t.device().is_host()) return &t;
  return nullptr;
}

void check_host(std::string_view op, std::string_view call,
                std::initializer_list<std::pair<const char*, std::span<const Tensor>>> groups) {
  for (const auto& [what, tensors] : groups)
    if (const Tensor* t = off_host(tensors))
      fail(
          "the reference kernel of {} runs host loops, but its {} {} {} lives on {}; it cannot "
          "touch that memory",
          op, call, what, t->shape().str(), t->device().str());
}
}  // namespace

void ReferenceKernel::forward(const ForwardCall& call) {
  if (!forward_checked_) {
    check_host(op_.type(), "forward",
               {{"input", call.inputs},
                {"output", call.outputs},
                {"parameter", call.params},
                {"saved tensor", call.saved}});
    forward_checked_ = true;
  }
  op_.forward(call);
}

void ReferenceKernel::backward(const BackwardCall& call) {
  if (!backward_checked_) {
    check_host(op_.type(), "backward",
               {{"input", call.inputs},
                {"output", call.outputs},
                {"parameter", call.params},
                {"saved tensor", call.saved},
                {"output gradient", call.grad_outputs},
                {"input gradient", call.grad_inputs},
                {"parameter gradient", call.grad_params}});
    backward_checked_ = true;
  }
  op_.backward(call);
}

namespace {
// Host memory, no fast kernels: every op runs its reference kernel.
class ReferenceBackend final : public cpu::HostBackend {
 public:
  std::string_view name() const override { return "reference"; }
  std::unique_ptr<Kernel> make_kernel(const KernelRequest&) override { return nullptr; }
};
}  // namespace

std::unique_ptr<Kernel> make_kernel_or_reference(Backend& backend, const KernelRequest& request) {
  if (auto kernel = backend.make_kernel(request)) return kernel;
  if (!request.all_plain())
    fail(
        "internal error: backend '{}' offered the blocked layout for {} on input {} but built no "
        "kernel for it (compile with blocked_layouts = false to work around)",
        backend.name(), request.op.type(),
        request.inputs.empty() ? std::string("-") : request.inputs[0].shape.str());
  return std::make_unique<ReferenceKernel>(request);
}

std::vector<std::string_view> backend_names() {
  return {"cpu", "reference"};
}

std::unique_ptr<Backend> make_backend(std::string_view name) {
  if (name == "cpu") return cpu::make_cpu_backend();
  if (name == "reference") return std::make_unique<ReferenceBackend>();
  fail("unknown backend '{}' (available: {})", name, fmt::join(backend_names(), ", "));
}

std::shared_ptr<Backend> shared_backend(std::string_view name) {
  static std::mutex mutex;
  static std::map<std::string, std::shared_ptr<Backend>, std::less<>> instances;
  const std::lock_guard lock(mutex);
  auto it = instances.find(name);
  if (it == instances.end()) it = instances.emplace(std::string(name), make_backend(name)).first;
  return it->second;
}

}  // namespace convkit::backend
