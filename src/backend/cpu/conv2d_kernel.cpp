// oneDNN kernel for Conv2D: forward (training/inference) with bias and ReLU fused as a post-op,
// backward data and backward weights+bias, each built only when the request needs it.
// Shapes: x [N, C, H, W], weight [F, C/G, KH, KW] (OIHW, viewed by oneDNN as
// [G, F/G, C/G, KH, KW] when G > 1), bias [F], y [N, F, OH, OW].
// Winograd replaces direct convolution where ConvKernelOptions::winograd says (forward and both
// backward passes together, since oneDNN's backward needs the forward's algorithm).
// Weights are reordered from OIHW into the primitive's preferred layout (format_tag::any) on
// every call, since the optimizer rewrites them each step; diff weights are reordered back.
// Activations at the kernel's boundary are in the layouts the plan chose (Plain NCHW or
// Blocked16 = nChw16c, see conv2d_layout_offer). ConvLayout::Blocked (default) lets each
// primitive pick its activation layout too and reorders through scratch; every reorder is
// skipped when the chosen layout is already the tensor's (Program::staging), so between two
// convolutions (or a convolution and a pooling) that agree on nChw16c nothing is reordered.
#include "backend/cpu/kernels.h"
#include "backend/cpu/onednn_common.h"
#include "backend/cpu/weighted_kernel.h"
#include "ops/conv2d.h"

namespace convkit::backend::cpu {

namespace {

using dnnl::algorithm;
using dnnl::prop_kind;
using Slot = Program::Slot;

// Backward reads x (for weight grads) and, under a fused activation, y (its derivative): the op
// must declare them in backward_needs(), since the planner frees everything else.
bool backward_has_what_it_reads(const KernelRequest& request) {
  if (!request.backward) return true;
  const auto& a = static_cast<const ops::Conv2D&>(request.op).conv_attrs();
  const ops::BackwardNeeds needs = request.op.backward_needs();
  return (!request.param_grads || needs.inputs) &&
         (a.activation == ops::FusedActivation::None || needs.outputs);
}

// The geometry of one convolution in oneDNN's terms.
struct ConvGeometry {
  memory::dims src, weights, bias, dst;
  memory::dims strides, dilates, pad_l, pad_r;

  ConvGeometry(const ops::Conv2D& op, const Shape& x, const Shape& y) {
    const auto& a = op.conv_attrs();
    const std::int64_t n = x[0], c = x[1], h = x[2], w = x[3], f = a.filters, g = a.groups;
    const ops::Pads pads = op.resolved_pads(h, w);  // top, left, bottom, right
    src = {n, c, h, w};
    dst = {n, f, y[2], y[3]};
    weights = g == 1 ? memory::dims{f, c, a.kernel[0], a.kernel[1]}
                     : memory::dims{g, f / g, c / g, a.kernel[0], a.kernel[1]};
    bias = {f};
    strides = {a.stride[0], a.stride[1]};
    dilates = {a.dilation[0] - 1, a.dilation[1] - 1};  // oneDNN counts the gaps
    pad_l = {pads[0], pads[1]};
    pad_r = {pads[2], pads[3]};
  }
};

// Winograd where it pays: 3x3, stride 1, no dilation, one group, >= 16 channels in and out
// (fewer channels would be padded to 16 in its blocked layout), and enough output pixels over
// the batch: at batch 1 its transforms cost more than they save (mnist_cnn inference: 4,500 ->
// 2,800 images/s at batch 1; 5,200 -> 7,100 at batch 256). 2048 takes the 7x7 stages at batch
// 64 (fashion_mnist.yaml training: +13% over a threshold of 8192, +30% over direct).
constexpr std::int64_t kWinogradMinPixels = 2048;

bool winograd_eligible(const ops::Conv2DAttrs& a, const Shape& x, const Shape& y,
                       ConvKernelOptions options) {
  return options.winograd && options.layout == ConvLayout::Blocked && a.groups == 1 &&
         y[0] * y[2] * y[3] >= kWinogradMinPixels &&
         a.kernel == std::array<std::int64_t, 2>{3, 3} &&
         a.stride == std::array<std::int64_t, 2>{1, 1} &&
         a.dilation == std::array<std::int64_t, 2>{1, 1} && x[1] >= 16 && a.filters >= 16;
}

class Conv2DKernel final : public WeightedKernel {
 public:
  Conv2DKernel(const KernelRequest& request, ConvKernelOptions options, algorithm alg);
  std::string_view name() const override { return winograd_ ? "winograd" : "onednn"; }

 private:
  void build_backward(const KernelRequest& request, const ConvGeometry& g,
                      const dnnl::convolution_forward::primitive_desc& fwd_pd, bool blocked,
                      algorithm alg);

  ops::FusedActivation activation_ = ops::FusedActivation::None;
  bool winograd_ = false;
};

Conv2DKernel::Conv2DKernel(const KernelRequest& request, ConvKernelOptions options, algorithm alg) {
  const auto& op = static_cast<const ops::Conv2D&>(request.op);
  const auto& a = op.conv_attrs();
  bias_ = a.bias;
  activation_ = a.activation;
  winograd_ = alg == algorithm::convolution_winograd;
  const ConvGeometry g(op, request.inputs[0].shape, request.outputs[0].shape);
  const bool blocked = options.layout == ConvLayout::Blocked;
  auto act = [&](const memory::dims& d) { return blocked ? any_desc(d) : plain_desc(d); };
  const bool training = request.backward;

  const memory::desc bias_md = bias_ ? plain_desc(g.bias) : memory::desc();
  dnnl::convolution_forward::primitive_desc pd(
      {training ? prop_kind::forward_training : prop_kind::forward_inference, alg, act(g.src),
       any_desc(g.weights), bias_md, act(g.dst), g.strides, g.dilates, g.pad_l, g.pad_r},
      make_attr(activation_), cpu_engine());

  fx_ = fwd_.external(activation_desc(request.inputs[0], request.input_layout(0)));
  fw_ = fwd_.external(plain_desc(g.weights));
  fy_ = fwd_.external(activation_desc(request.outputs[0], request.output_layout(0)));
  const Slot xs = fwd_.staging(fx_, pd.src_desc()), ws = fwd_.staging(fw_, pd.weights_desc());
  const Slot ys = fwd_.staging(fy_, pd.dst_desc());
  fwd_.copy(fx_, xs);
  fwd_.copy(fw_, ws);
  std::vector<std::pair<int, Slot>> args{
      {DNNL_ARG_SRC, xs}, {DNNL_ARG_WEIGHTS, ws}, {DNNL_ARG_DST, ys}};
  if (bias_) {
    fb_ = fwd_.external(bias_md);
    args.push_back({DNNL_ARG_BIAS, fb_});
  }
  fwd_.add(pd, args);
  fwd_.copy(ys, fy_);
  if (training) build_backward(request, g, pd, blocked, alg);
}

void Conv2DKernel::build_backward(const KernelRequest& request, const ConvGeometry& g,
                                  const dnnl::convolution_forward::primitive_desc& fwd_pd,
                                  bool blocked, algorithm alg) {
  const bool need_dx = !request.input_grads.empty() && request.input_grads[0];
  if (!need_dx && !request.param_grads) return;
  // NOTE: in Blocked mode each backward primitive picks its own activation layouts (any):
  // reusing forward's choice (nchw src for C < 16) sends backward data to oneDNN's slow
  // reference implementation, while any gets the JIT one (e.g. 2.5 s -> 30 ms, N=128 3->16).
  auto act = [&](const memory::dims& d) { return blocked ? any_desc(d) : plain_desc(d); };
  using DataPd = dnnl::convolution_backward_data::primitive_desc;
  using WeightsPd = dnnl::convolution_backward_weights::primitive_desc;
  DataPd data_pd;
  WeightsPd weights_pd;
  if (need_dx)
    data_pd = DataPd(
        {alg, act(g.src), any_desc(g.weights), act(g.dst), g.strides, g.dilates, g.pad_l, g.pad_r},
        make_attr(), cpu_engine(), fwd_pd);
  const memory::desc bias_md = bias_ ? plain_desc(g.bias) : memory::desc();
  if (request.param_grads)
    weights_pd = WeightsPd({alg, act(g.src), any_desc(g.weights), bias_md, act(g.dst), g.strides,
                            g.dilates, g.pad_l, g.pad_r},
                           make_attr(), cpu_engine(), fwd_pd);

  // Prologue: dy (times the fused activation's derivative, from y), the gradient both passes
  // consume, reordered once here when both want it in the same layout.
  bwd_.set_group(0);
  const memory::desc y_md = activation_desc(request.outputs[0], request.output_layout(0));
  const OutputGradient out_grad = add_output_gradient(bwd_, activation_, y_md);
  bdy_ = out_grad.dy;
  by_ = out_grad.y;
  const Slot grad = out_grad.grad;
  Slot shared_grad = -1;
  if (need_dx && request.param_grads && data_pd.diff_dst_desc() == weights_pd.diff_dst_desc()) {
    shared_grad = bwd_.staging(grad, data_pd.diff_dst_desc());
    bwd_.copy(grad, shared_grad);
  }
  auto staged_grad = [&](const memory::desc& want) {
    if (shared_grad >= 0) return shared_grad;
    const Slot s = bwd_.staging(grad, want);
    bwd_.copy(grad, s);
    return s;
  };

  if (need_dx) {
    bwd_.set_group(1);
    bw_ = bwd_.external(plain_desc(g.weights));
    bdx_ = bwd_.external(activation_desc(request.inputs[0], request.input_layout(0)));
    const Slot dys = staged_grad(data_pd.diff_dst_desc());
    const Slot ws = bwd_.staging(bw_, data_pd.weights_desc());
    const Slot dxs = bwd_.staging(bdx_, data_pd.diff_src_desc());
    bwd_.copy(bw_, ws);
    bwd_.add(data_pd, {{DNNL_ARG_DIFF_DST, dys}, {DNNL_ARG_WEIGHTS, ws}, {DNNL_ARG_DIFF_SRC, dxs}});
    bwd_.copy(dxs, bdx_);
  }
  if (request.param_grads) {
    bwd_.set_group(2);
    bx_ = bwd_.external(activation_desc(request.inputs[0], request.input_layout(0)));
    bdw_ = bwd_.external(plain_desc(g.weights));
    const Slot dys = staged_grad(weights_pd.diff_dst_desc());
    const Slot xs = bwd_.staging(bx_, weights_pd.src_desc());
    const Slot dws = bwd_.staging(bdw_, weights_pd.diff_weights_desc());
    bwd_.copy(bx_, xs);
    std::vector<std::pair<int, Slot>> args{
        {DNNL_ARG_SRC, xs}, {DNNL_ARG_DIFF_DST, dys}, {DNNL_ARG_DIFF_WEIGHTS, dws}};
    if (bias_) {
      bdb_ = bwd_.external(bias_md);
      args.push_back({DNNL_ARG_DIFF_BIAS, bdb_});
    }
    bwd_.add(weights_pd, args);
    bwd_.copy(dws, bdw_);
  }
}

}  // namespace

std::unique_ptr<Kernel> make_conv2d_kernel(const KernelRequest& request,
                                           ConvKernelOptions options) {
  if (request.inputs.size() != 1 || request.inputs[0].dtype != DType::f32) return nullptr;
  if (!backward_has_what_it_reads(request)) return nullptr;
  const auto& a = static_cast<const ops::Conv2D&>(request.op).conv_attrs();
  if (winograd_eligible(a, request.inputs[0].shape, request.outputs[0].shape, options))
    if (auto kernel = build_or_null([&]() -> std::unique_ptr<Kernel> {
          return std::make_unique<Conv2DKernel>(request, options, algorithm::convolution_winograd);
        }))
      return kernel;
  return build_or_null([&]() -> std::unique_ptr<Kernel> {
    return std::make_unique<Conv2DKernel>(request, options, algorithm::convolution_direct);
  });
}

// The default layout is Blocked (see ConvKernelOptions for the measurement).
std::unique_ptr<Kernel> make_conv2d_kernel(const KernelRequest& request) {
  if (auto direct = make_conv2d_direct_kernel(request)) return direct;
  return make_conv2d_kernel(request, ConvKernelOptions{});
}

LayoutOffer conv2d_layout_offer(const KernelRequest& request) {
  // Only where make_conv2d_kernel builds the oneDNN kernel (not the direct one).
  if (request.inputs.size() != 1 || request.inputs[0].dtype != DType::f32 ||
      !backward_has_what_it_reads(request) || conv2d_direct_applies(request))
    return {};
  return {{true}, {true}};
}

}  // namespace convkit::backend::cpu
