// oneDNN kernel for Dense (inner product): forward with bias and ReLU fused as a post-op,
// backward data and backward weights+bias, each built only when the request needs it.
// Shapes: x [N, K] (an input of higher rank is read as [N, K] with K = the rest), weight
// [U, K] (OI), bias [U], y [N, U]. Activations stay plain (nc). The forward of training and of
// large-batch inference is a matmul reading the OI weights in place as w^T; small-batch
// inference is an inner product on OI (a matrix-vector product bound by reading the weights
// once). Backward data and weights read and write OI in place (see bwd_weights_md).
#include "backend/cpu/kernels.h"
#include "backend/cpu/onednn_common.h"
#include "backend/cpu/weighted_kernel.h"
#include "ops/dense.h"

namespace convkit::backend::cpu {

namespace {

using dnnl::prop_kind;
using Slot = Program::Slot;

class DenseKernel final : public WeightedKernel {
 public:
  explicit DenseKernel(const KernelRequest& request);
};

DenseKernel::DenseKernel(const KernelRequest& request) {
  const auto& op = static_cast<const ops::Dense&>(request.op);
  const auto& a = op.dense_attrs();
  bias_ = a.bias;
  const ops::FusedActivation activation = a.activation;
  const Shape& x_shape = request.inputs[0].shape;
  const std::int64_t n = x_shape[0], k = x_shape.numel_from(1), u = a.units;
  const memory::dims src{n, k}, weights{u, k}, bias{u}, dst{n, u};
  const bool training = request.backward;
  const bool need_dx = !request.input_grads.empty() && request.input_grads[0];
  constexpr std::int64_t kPlainWeightsMaxBatch = 16;
  const bool plain_weights = !training && n <= kPlainWeightsMaxBatch;
  // Backward reads and writes the weights in place (OI; oneDNN's GEMM path): measured faster than
  // its blocked kernels plus the reorders they need (mnist_cnn's 9216->128 layer at batch 128:
  // 1.4 + 1.6 ms against 1.7 + 0.6 and 1.8 + 0.7 ms for data and weights).
  const memory::desc bwd_weights_md = plain_desc(weights);

  const memory::desc bias_md = bias_ ? plain_desc(bias) : memory::desc();
  // The inner product's forward descriptor: the forward of small-batch inference, and the hint
  // backward's descriptors need.
  dnnl::inner_product_forward::primitive_desc pd(
      {training ? prop_kind::forward_training : prop_kind::forward_inference, plain_desc(src),
       plain_desc(weights), bias_md, plain_desc(dst)},
      make_attr(activation), cpu_engine());
  fx_ = fwd_.external(plain_desc(src));
  fy_ = fwd_.external(plain_desc(dst));
  if (plain_weights) {
    fw_ = fwd_.external(plain_desc(weights));
    std::vector<std::pair<int, Slot>> args{
        {DNNL_ARG_SRC, fx_}, {DNNL_ARG_WEIGHTS, fw_}, {DNNL_ARG_DST, fy_}};
    if (bias_) args.push_back({DNNL_ARG_BIAS, fb_ = fwd_.external(bias_md)});
    fwd_.add(pd, args);
  } else {
    // A matmul x [N, K] . w^T [K, U], w^T read in place from the OI weights (strides 1, K): its
    // brgemm kernel copies panels of w^T as it goes, faster than reordering all the weights
    // first for an inner product (mnist_cnn's 9216->128 at batch 128: 1.55 ms against
    // 2.17 ms, of which 0.6 ms the reorder).
    const memory::desc weights_t(memory::dims{k, u}, memory::data_type::f32, memory::dims{1, k});
    const memory::desc bias_row = bias_ ? plain_desc(memory::dims{1, u}) : memory::desc();
    dnnl::matmul::primitive_desc mpd({plain_desc(src), weights_t, bias_row, plain_desc(dst)},
                                     make_attr(activation), cpu_engine());
    fw_ = fwd_.external(weights_t);
    std::vector<std::pair<int, Slot>> args{
        {DNNL_ARG_SRC, fx_}, {DNNL_ARG_WEIGHTS, fw_}, {DNNL_ARG_DST, fy_}};
    if (bias_) args.push_back({DNNL_ARG_BIAS, fb_ = fwd_.external(bias_row)});
    fwd_.add(mpd, args);
  }
  if (!training || (!need_dx && !request.param_grads)) return;

  // Prologue: dy, times the fused activation's derivative (from y).
  bwd_.set_group(0);
  const OutputGradient out_grad = add_output_gradient(bwd_, activation, plain_desc(dst));
  bdy_ = out_grad.dy;
  by_ = out_grad.y;
  const Slot grad = out_grad.grad;
  if (need_dx) {
    dnnl::inner_product_backward_data::primitive_desc data_pd(
        {plain_desc(src), bwd_weights_md, plain_desc(dst)}, make_attr(), cpu_engine(), pd);
    bwd_.set_group(1);
    bw_ = bwd_.external(plain_desc(weights));
    bdx_ = bwd_.external(plain_desc(src));
    const Slot bws = bwd_.staging(bw_, data_pd.weights_desc());
    bwd_.copy(bw_, bws);
    bwd_.add(data_pd,
             {{DNNL_ARG_DIFF_DST, grad}, {DNNL_ARG_WEIGHTS, bws}, {DNNL_ARG_DIFF_SRC, bdx_}});
  }
  if (request.param_grads) {
    dnnl::inner_product_backward_weights::primitive_desc weights_pd(
        {plain_desc(src), bwd_weights_md, bias_md, plain_desc(dst)}, make_attr(), cpu_engine(), pd);
    bwd_.set_group(2);
    bx_ = bwd_.external(plain_desc(src));
    bdw_ = bwd_.external(plain_desc(weights));
    const Slot dws = bwd_.staging(bdw_, weights_pd.diff_weights_desc());
    std::vector<std::pair<int, Slot>> wargs{
        {DNNL_ARG_SRC, bx_}, {DNNL_ARG_DIFF_DST, grad}, {DNNL_ARG_DIFF_WEIGHTS, dws}};
    if (bias_) {
      bdb_ = bwd_.external(bias_md);
      wargs.push_back({DNNL_ARG_DIFF_BIAS, bdb_});
    }
    bwd_.add(weights_pd, wargs);
    bwd_.copy(dws, bdw_);
  }
}

}  // namespace

std::unique_ptr<Kernel> make_dense_kernel(const KernelRequest& request) {
  if (request.inputs.size() != 1 || request.inputs[0].dtype != DType::f32) return nullptr;
  // Backward reads x (weight grads) and, under a fused activation, y: the op must keep them.
  if (request.backward) {
    const auto& a = static_cast<const ops::Dense&>(request.op).dense_attrs();
    const ops::BackwardNeeds needs = request.op.backward_needs();
    if ((request.param_grads && !needs.inputs) ||
        (a.activation != ops::FusedActivation::None && !needs.outputs))
      return nullptr;
  }
  return build_or_null(
      [&]() -> std::unique_ptr<Kernel> { return std::make_unique<DenseKernel>(request); });
}

}  // namespace convkit::backend::cpu
