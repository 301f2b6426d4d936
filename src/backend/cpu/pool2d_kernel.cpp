// oneDNN kernel for MaxPool2D and AvgPool2D, x [N, C, H, W] -> y [N, C, OH, OW]. The primitive
// runs in x's layout (Plain or Blocked16; its JIT kernel is much faster on nChw16c) and y is
// reordered when the plan wants it in the other one.
// Max pooling in training keeps oneDNN's argmax workspace in saved() (a u8 tensor of its byte
// size), so backward needs neither x nor y, except y for a fused activation (moved into the
// pooling by the fusion pass; a post-op forward, its derivative from y in backward). Average
// pooling maps count_include_pad to pooling_avg_include_padding / pooling_avg_exclude_padding;
// its backward needs only dy.
#include "backend/cpu/kernels.h"
#include "backend/cpu/onednn_common.h"
#include "ops/pool2d.h"

namespace convkit::backend::cpu {

namespace {

using dnnl::algorithm;
using dnnl::prop_kind;
using Slot = Program::Slot;

class Pool2DKernel final : public Kernel {
 public:
  explicit Pool2DKernel(const KernelRequest& request);
  std::string_view name() const override { return "onednn"; }
  std::vector<TensorSpec> saved() const override { return saved_; }
  std::size_t scratch_bytes() const override {
    return std::max(fwd_.scratch_bytes(), bwd_.scratch_bytes());
  }
  void forward(const ForwardCall& call) override;
  void backward(const BackwardCall& call) override;

 private:
  std::vector<TensorSpec> saved_;  // [workspace] for max pooling with backward, else empty
  Program fwd_;
  Slot fx_ = -1, fy_ = -1, fws_ = -1;
  Program bwd_;
  Slot bdy_ = -1, by_ = -1, bdx_ = -1, bws_ = -1;
};

Pool2DKernel::Pool2DKernel(const KernelRequest& request) {
  const auto& op = static_cast<const ops::Pool2D&>(request.op);
  const auto& a = op.pool_attrs();
  const Shape& x = request.inputs[0].shape;
  const Shape& y = request.outputs[0].shape;
  const ops::Pads pads = op.resolved_pads(x[2], x[3]);  // top, left, bottom, right
  const memory::dims dst = to_dims(y), kernel{a.kernel[0], a.kernel[1]};
  const memory::desc x_md = activation_desc(request.inputs[0], request.input_layout(0));
  const memory::desc y_md = activation_desc(request.outputs[0], request.output_layout(0));
  // y as the primitive writes it: in x's layout.
  const memory::desc prim_y_md = request.input_layout(0) == Layout::Plain
                                     ? plain_desc(dst)
                                     : memory::desc(dst, memory::data_type::f32, Tag::nChw16c);
  const memory::dims strides{a.stride[0], a.stride[1]}, pad_l{pads[0], pads[1]},
      pad_r{pads[2], pads[3]};
  const algorithm alg = op.kind() == ops::PoolKind::Max ? algorithm::pooling_max
                        : a.count_include_pad           ? algorithm::pooling_avg_include_padding
                                                        : algorithm::pooling_avg_exclude_padding;
  const bool backward = request.backward && !request.input_grads.empty() && request.input_grads[0];

  // A fused activation (max pooling) is the primitive's post-op; backward multiplies dy by its
  // derivative (from y) first.
  const ops::FusedActivation act = a.activation;
  dnnl::pooling_forward::primitive_desc pd(
      {backward ? prop_kind::forward_training : prop_kind::forward_inference, alg, x_md, prim_y_md,
       strides, kernel, pad_l, pad_r},
      make_attr(act), cpu_engine());
  fx_ = fwd_.external(x_md);
  fy_ = fwd_.external(y_md);
  const Slot ys = fwd_.staging(fy_, prim_y_md);
  std::vector<std::pair<int, Slot>> args{{DNNL_ARG_SRC, fx_}, {DNNL_ARG_DST, ys}};
  const std::size_t ws_bytes = backward ? pd.workspace_desc().get_size() : 0;
  if (ws_bytes > 0) {
    saved_.push_back({Shape{std::int64_t(ws_bytes)}, DType::u8});
    fws_ = fwd_.external(pd.workspace_desc());
    args.push_back({DNNL_ARG_WORKSPACE, fws_});
  }
  fwd_.add(pd, args);
  fwd_.copy(ys, fy_);
  if (!backward) return;

  dnnl::pooling_backward::primitive_desc bpd({alg, x_md, prim_y_md, strides, kernel, pad_l, pad_r},
                                             make_attr(), cpu_engine(), pd);
  const OutputGradient out_grad = add_output_gradient(bwd_, act, y_md);
  bdy_ = out_grad.dy;
  by_ = out_grad.y;
  const Slot grad = out_grad.grad;
  bdx_ = bwd_.external(x_md);
  const Slot dys = bwd_.staging(grad, prim_y_md);
  bwd_.copy(grad, dys);
  std::vector<std::pair<int, Slot>> bargs{{DNNL_ARG_DIFF_DST, dys}, {DNNL_ARG_DIFF_SRC, bdx_}};
  if (ws_bytes > 0) {
    bws_ = bwd_.external(bpd.workspace_desc());
    bargs.push_back({DNNL_ARG_WORKSPACE, bws_});
  }
  bwd_.add(bpd, bargs);
}

void Pool2DKernel::forward(const ForwardCall& call) {
  fwd_.bind(fx_, call.inputs[0]);
  fwd_.bind(fy_, call.outputs[0]);
  // The argmax workspace of a training forward lives in saved(), for backward to read.
  if (fws_ >= 0) {
    if (call.saved.empty()) fail("MaxPool2D oneDNN kernel: forward needs its saved workspace");
    fwd_.bind(fws_, call.saved[0]);
  }
  fwd_.run(call.scratch);
}

void Pool2DKernel::backward(const BackwardCall& call) {
  if (bwd_.empty() || call.grad_inputs.empty() || !call.grad_inputs[0].defined()) return;
  bwd_.bind(bdy_, call.grad_outputs[0]);
  bwd_.bind(bdx_, call.grad_inputs[0]);
  if (by_ >= 0) bwd_.bind(by_, call.outputs[0]);
  if (bws_ >= 0) bwd_.bind(bws_, call.saved[0]);
  bwd_.run(call.scratch);
}

}  // namespace

std::unique_ptr<Kernel> make_pool2d_onednn_kernel(const KernelRequest& request) {
  if (request.inputs.size() != 1 || request.inputs[0].dtype != DType::f32) return nullptr;
  return build_or_null(
      [&]() -> std::unique_ptr<Kernel> { return std::make_unique<Pool2DKernel>(request); });
}

std::unique_ptr<Kernel> make_pool2d_kernel(const KernelRequest& request) {
  if (auto kernel = make_pool2d_window_kernel(request)) return kernel;
  return make_pool2d_onednn_kernel(request);
}

LayoutOffer pool2d_layout_offer(const KernelRequest& request) {
  if (request.inputs.size() != 1 || request.outputs.size() != 1 ||
      request.inputs[0].dtype != DType::f32 || request.inputs[0].shape.rank() != 4)
    return {};
  if (pool2d_window_applies(request)) return {};
  return {{true}, {request.input_layout(0) == Layout::Blocked16}};
}

}  // namespace convkit::backend::cpu
