// oneDNN eltwise kernel for every activation kind with a row in onednn_common.cpp's eltwise
// table (ReLU, LeakyReLU, ELU, GELU, SiLU, Sigmoid, Tanh, ReLU6, Clip, HardSwish), over a plain
// tensor of any shape ([N, ...]). Backward reads what the op's backward_needs() keeps: the
// output y for ReLU, Sigmoid, Tanh, ReLU6 and Clip (the *_use_dst_for_bwd algorithms), the
// input x for the others.
#include "backend/cpu/kernels.h"
#include "backend/cpu/onednn_common.h"
#include "ops/activation.h"

#include <optional>

namespace convkit::backend::cpu {

namespace {

using dnnl::algorithm;
using dnnl::prop_kind;
using Slot = Program::Slot;

class ActivationKernel final : public Kernel {
 public:
  ActivationKernel(const KernelRequest& request, Eltwise e, bool from_output);
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
    bwd_.bind(bdata_, from_output_ ? call.outputs[0] : call.inputs[0]);
    bwd_.bind(bdy_, call.grad_outputs[0]);
    bwd_.bind(bdx_, call.grad_inputs[0]);
    bwd_.run(call.scratch);
  }

 private:
  bool from_output_;
  Program fwd_;
  Slot fx_ = -1, fy_ = -1;
  Program bwd_;
  Slot bdata_ = -1, bdy_ = -1, bdx_ = -1;
};

ActivationKernel::ActivationKernel(const KernelRequest& request, Eltwise e, bool from_output)
    : from_output_(from_output) {
  const memory::desc md = plain_desc(request.inputs[0].shape);
  const bool backward = request.backward && !request.input_grads.empty() && request.input_grads[0];
  dnnl::eltwise_forward::primitive_desc pd(
      {backward ? prop_kind::forward_training : prop_kind::forward_inference, e.alg, md, e.alpha,
       e.beta},
      make_attr(), cpu_engine());
  fx_ = fwd_.external(md);
  fy_ = fwd_.external(md);
  fwd_.add(pd, {{DNNL_ARG_SRC, fx_}, {DNNL_ARG_DST, fy_}});
  if (!backward) return;
  dnnl::eltwise_backward::primitive_desc bpd({e.alg, md, md, e.alpha, e.beta}, make_attr(),
                                             cpu_engine(), pd);
  bdata_ = bwd_.external(md);
  bdy_ = bwd_.external(md);
  bdx_ = bwd_.external(md);
  bwd_.add(bpd, {{from_output ? DNNL_ARG_DST : DNNL_ARG_SRC, bdata_},
                 {DNNL_ARG_DIFF_DST, bdy_},
                 {DNNL_ARG_DIFF_SRC, bdx_}});
}

}  // namespace

std::unique_ptr<Kernel> make_activation_kernel(const KernelRequest& request) {
  if (request.inputs.size() != 1 || request.inputs[0].dtype != DType::f32) return nullptr;
  const auto& op = static_cast<const ops::Activation&>(request.op);
  // Backward may only read what the op keeps: its output when backward_needs() says so.
  const ops::BackwardNeeds needs = request.op.backward_needs();
  const bool from_output = needs.outputs && !needs.inputs;
  const std::optional<Eltwise> e = eltwise_of(op.kind(), from_output, float(op.alpha()),
                                              float(op.beta()), op.gelu_tanh());
  if (!e) return nullptr;
  return build_or_null([&]() -> std::unique_ptr<Kernel> {
    return std::make_unique<ActivationKernel>(request, *e, from_output);
  });
}

}  // namespace convkit::backend::cpu
