// oneDNN eltwise kernel for every activation kind with a row in onednn_common.cpp's eltwise
// table (ReLU, LeakyReLU, ELU, GELU, SiLU, Sigmoid, Tanh, ReLU6, Clip, HardSwish), and
// HardSigmoid composed of two (oneDNN 2.6 has no eltwise_hardsigmoid), over a plain tensor of any
// shape ([N, ...]). Backward reads what the op's backward_needs() keeps: the output y for ReLU,
// Sigmoid, Tanh, ReLU6, Clip and HardSigmoid (the *_use_dst_for_bwd algorithms), the input x
// for the others.
#include "backend/cpu/kernels.h"
#include "backend/cpu/onednn_common.h"
#include "ops/activation.h"

#include <optional>
#include <vector>

namespace convkit::backend::cpu {

namespace {

using dnnl::algorithm;
using dnnl::prop_kind;
using Slot = Program::Slot;

// The primitives of one activation: forward eltwise steps in order (the first reads x, the others
// rewrite y in place), one eltwise backward, then dx scaled by grad_scale when it is not 1.
struct EltwisePlan {
  std::vector<Eltwise> forward;
  Eltwise backward;
  float grad_scale = 1.0f;
};

// HardSigmoid = clip(x / 6 + 1/2, 0, 1): linear then clip_v2; backward from y: dy where
// 0 < y < 1 (clip_v2_use_dst_for_bwd), times 1/6.
EltwisePlan hard_sigmoid_plan() {
  const Eltwise clip{algorithm::eltwise_clip_v2_use_dst_for_bwd, 0.0f, 1.0f};
  return {{{algorithm::eltwise_linear, 1.0f / 6.0f, 0.5f}, clip}, clip, 1.0f / 6.0f};
}

class ActivationKernel final : public Kernel {
 public:
  ActivationKernel(const KernelRequest& request, const EltwisePlan& plan, bool from_output);
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

ActivationKernel::ActivationKernel(const KernelRequest& request, const EltwisePlan& plan,
                                   bool from_output)
    : from_output_(from_output) {
  const memory::desc md = plain_desc(request.inputs[0].shape);
  const bool backward = request.backward && !request.input_grads.empty() && request.input_grads[0];
  fx_ = fwd_.external(md);
  fy_ = fwd_.external(md);
  for (std::size_t i = 0; i < plan.forward.size(); ++i) {
    const Eltwise& e = plan.forward[i];
    dnnl::eltwise_forward::primitive_desc pd(
        {backward ? prop_kind::forward_training : prop_kind::forward_inference, e.alg, md, e.alpha,
         e.beta},
        make_attr(), cpu_engine());
    fwd_.add(pd, {{DNNL_ARG_SRC, i == 0 ? fx_ : fy_}, {DNNL_ARG_DST, fy_}});
  }
  if (!backward) return;
  const Eltwise& e = plan.backward;
  dnnl::eltwise_forward::primitive_desc hint(
      {prop_kind::forward_training, e.alg, md, e.alpha, e.beta}, make_attr(), cpu_engine());
  dnnl::eltwise_backward::primitive_desc bpd({e.alg, md, md, e.alpha, e.beta}, make_attr(),
                                             cpu_engine(), hint);
  bdata_ = bwd_.external(md);
  bdy_ = bwd_.external(md);
  bdx_ = bwd_.external(md);
  bwd_.add(bpd, {{from_output ? DNNL_ARG_DST : DNNL_ARG_SRC, bdata_},
                 {DNNL_ARG_DIFF_DST, bdy_},
                 {DNNL_ARG_DIFF_SRC, bdx_}});
  if (plan.grad_scale == 1.0f) return;
  dnnl::eltwise_forward::primitive_desc scale(
      {prop_kind::forward_inference, algorithm::eltwise_linear, md, plan.grad_scale, 0.0f},
      make_attr(), cpu_engine());
  bwd_.add(scale, {{DNNL_ARG_SRC, bdx_}, {DNNL_ARG_DST, bdx_}});
}

}  // namespace

std::unique_ptr<Kernel> make_activation_kernel(const KernelRequest& request) {
  if (request.inputs.size() != 1 || request.inputs[0].dtype != DType::f32) return nullptr;
  const auto& op = static_cast<const ops::Activation&>(request.op);
  // Backward may only read what the op keeps: its output when backward_needs() says so.
  const ops::BackwardNeeds needs = request.op.backward_needs();
  const bool from_output = needs.outputs && !needs.inputs;
  EltwisePlan plan;
  if (op.kind() == ops::ActivationKind::HardSigmoid) {
    if (!from_output) return nullptr;
    plan = hard_sigmoid_plan();
  } else {
    const std::optional<Eltwise> e =
        eltwise_of(op.kind(), from_output, float(op.alpha()), float(op.beta()), op.gelu_tanh());
    if (!e) return nullptr;
    plan = {{*e}, *e};
  }
  return build_or_null([&]() -> std::unique_ptr<Kernel> {
    return std::make_unique<ActivationKernel>(request, plan, from_output);
  });
}

}  // namespace convkit::backend::cpu
