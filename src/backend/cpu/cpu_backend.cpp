// CPU backend: dispatches each op type to its kernel factory (one table line per op).
#include "backend/cpu/cpu_backend.h"
#include "backend/cpu/host_backend.h"
#include "backend/cpu/kernels.h"

#include <string_view>

namespace convkit::backend::cpu {

namespace {

using KernelFactory = std::unique_ptr<Kernel> (*)(const KernelRequest&);
using LayoutOfferFn = LayoutOffer (*)(const KernelRequest&);

struct KernelEntry {
  std::string_view op_type;
  KernelFactory make;
  LayoutOfferFn offer = nullptr;  // nullptr: the kernels read and write Plain tensors only
};

// One line per op with a oneDNN kernel; ops not listed run their reference kernel.
const KernelEntry kKernels[] = {
    {"Conv2D", make_conv2d_kernel, conv2d_layout_offer},
    {"Dense", make_dense_kernel},
    {"MaxPool2D", make_pool2d_kernel, pool2d_layout_offer},
    {"AvgPool2D", make_pool2d_kernel, pool2d_layout_offer},
    {"BatchNorm", make_batch_norm_any_layout_kernel, batch_norm_layout_offer},
    {"ReLU", make_activation_kernel},
    {"LeakyReLU", make_activation_kernel},
    {"ELU", make_activation_kernel},
    {"GELU", make_activation_kernel},
    {"SiLU", make_activation_kernel},
    {"Sigmoid", make_activation_kernel},
    {"Tanh", make_activation_kernel},
    {"ReLU6", make_activation_kernel},
    {"Clip", make_activation_kernel},
    {"HardSwish", make_activation_kernel},
    {"HardSigmoid", make_activation_kernel},
    {"Softmax", make_softmax_kernel},
    {"Dropout", make_dropout_kernel},  // vectorized Philox; spatial dropout runs the reference
    {"", nullptr},                     // sentinel
};

class CpuBackend final : public HostBackend {
 public:
  std::string_view name() const override { return "cpu"; }
  std::unique_ptr<Kernel> make_kernel(const KernelRequest& request) override {
    if (!request.device.is_host())
      fail("the cpu backend's kernels run on host memory, not on {} ({} requested)",
           request.device.str(), request.op.type());
    for (const auto& entry : kKernels)
      if (entry.make && entry.op_type == request.op.type()) return entry.make(request);
    return nullptr;
  }
  LayoutOffer layout_offer(const KernelRequest& request) override {
    static const bool blocked16_native = cpu_has_avx512_core();
    if (!blocked16_native) return {};
    for (const auto& entry : kKernels)
      if (entry.offer && entry.op_type == request.op.type()) return entry.offer(request);
    return {};
  }
};

}  // namespace

std::unique_ptr<Backend> make_cpu_backend() {
  return std::make_unique<CpuBackend>();
}

}  // namespace convkit::backend::cpu
