// oneDNN kernel for Softmax over dim 1 of a plain [N, K] or [N, K, ...] tensor.
// Backward reads only the output y (as the op declares): dx = y * (dy - sum_K(dy * y)).
#include "backend/cpu/kernels.h"
#include "backend/cpu/onednn_common.h"
#include "ops/softmax.h"

namespace convkit::backend::cpu {

namespace {

using dnnl::prop_kind;
using Slot = Program::Slot;

constexpr int kAxis = 1;  // K

class SoftmaxKernel final : public Kernel {
 public:
  explicit SoftmaxKernel(const KernelRequest& request);
  std::string_view name() const override { return "onednn"; }
  std::vector<TensorSpec> saved() const override { return {}; }
  std::size_t scratch_bytes() const override {
    return std::max(fwd_.scratch_bytes(), bwd_.scratch_bytes());
  }
  void forward(const ForwardCall& call) override {
    fwd_.bind(fx_, call.inputs[0]);
    fwd_.bind(fy_, call.outputs[0]);
    fwd_.run(call.scratch);
  }
  void backward(const BackwardCall& call) override {
    if (bwd_.empty() || call.grad_inputs.empty() || !call.grad_inputs[0].defined()) return;
    bwd_.bind(by_, call.outputs[0]);
    bwd_.bind(bdy_, call.grad_outputs[0]);
    bwd_.bind(bdx_, call.grad_inputs[0]);
    bwd_.run(call.scratch);
  }

 private:
  Program fwd_;
  Slot fx_ = -1, fy_ = -1;
  Program bwd_;
  Slot by_ = -1, bdy_ = -1, bdx_ = -1;
};

SoftmaxKernel::SoftmaxKernel(const KernelRequest& request) {
  const memory::desc md = plain_desc(request.inputs[0].shape);
  const bool backward = request.backward && !request.input_grads.empty() && request.input_grads[0];
  dnnl::softmax_forward::primitive_desc pd(
      {backward ? prop_kind::forward_training : prop_kind::forward_inference, md, kAxis},
      make_attr(), cpu_engine());
  fx_ = fwd_.external(md);
  fy_ = fwd_.external(md);
  fwd_.add(pd, {{DNNL_ARG_SRC, fx_}, {DNNL_ARG_DST, fy_}});
  if (!backward) return;
  dnnl::softmax_backward::primitive_desc bpd({md, md, kAxis}, make_attr(), cpu_engine(), pd);
  by_ = bwd_.external(md);
  bdy_ = bwd_.external(md);
  bdx_ = bwd_.external(md);
  bwd_.add(bpd, {{DNNL_ARG_DST, by_}, {DNNL_ARG_DIFF_DST, bdy_}, {DNNL_ARG_DIFF_SRC, bdx_}});
}

}  // namespace

std::unique_ptr<Kernel> make_softmax_kernel(const KernelRequest& request) {
  if (request.inputs.size() != 1 || request.inputs[0].dtype != DType::f32) return nullptr;
  if (request.inputs[0].shape.rank() < 2) return nullptr;
  // Backward reads y; an op that stopped keeping it would need another kernel.
  if (request.backward && !request.op.backward_needs().outputs) return nullptr;
  return build_or_null(
      [&]() -> std::unique_ptr<Kernel> { return std::make_unique<SoftmaxKernel>(request); });
}

}  // namespace convkit::backend::cpu
