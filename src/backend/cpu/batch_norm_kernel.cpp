// oneDNN kernel for BatchNorm over x [N, C, H, W] or [N, C] (statistics per channel C over
// M = N * H * W values), with the ReLU fused through fuse_norm_relu. The CPU backend runs it on
// Blocked16 tensors (x and y in one layout; its JIT kernel needs nChw16c), the SIMD kernel on
// plain ones.
//   Train: batch statistics (oneDNN outputs mean and biased variance), then the kernel updates
//     running_mean / running_var exactly as the reference does (momentum, unbiased variance).
//   Infer: use_global_stats with the running statistics.
// Saved (only when backward will run): Train [mean C, variance C], plus the ReLU workspace
// (u8, its byte size) when fused. Backward reads x, gamma, beta and these.
#include "backend/cpu/kernels.h"
#include "backend/cpu/onednn_common.h"
#include "ops/batch_norm.h"

namespace convkit::backend::cpu {

namespace {

using dnnl::normalization_flags;
using dnnl::prop_kind;
using Slot = Program::Slot;

class BatchNormKernel final : public Kernel {
 public:
  explicit BatchNormKernel(const KernelRequest& request);
  std::string_view name() const override { return "onednn"; }
  std::vector<TensorSpec> saved() const override { return saved_; }
  std::size_t scratch_bytes() const override {
    return std::max(fwd_.scratch_bytes(), bwd_.scratch_bytes());
  }
  void forward(const ForwardCall& call) override;
  void backward(const BackwardCall& call) override;

 private:
  void update_running_stats(const ForwardCall& call) const;

  bool train_ = false;  // batch statistics (else running statistics)
  bool param_grads_ = false;
  double momentum_ = 0.1;
  std::int64_t channels_ = 0, m_ = 0;  // C and values per channel
  std::vector<TensorSpec> saved_;
  int saved_mean_ = -1, saved_var_ = -1, saved_ws_ = -1;  // indices into saved_, -1: none

  Program fwd_;
  Slot fx_ = -1, fy_ = -1, fgamma_ = -1, fbeta_ = -1, fmean_ = -1, fvar_ = -1, fws_ = -1;
  Program bwd_;
  Slot bx_ = -1, bdy_ = -1, bgamma_ = -1, bmean_ = -1, bvar_ = -1, bws_ = -1, bdx_ = -1;
  Slot bbeta_ = -1, bdgamma_ = -1, bdbeta_ = -1;
};

BatchNormKernel::BatchNormKernel(const KernelRequest& request) {
  const auto& op = static_cast<const ops::BatchNorm&>(request.op);
  const auto& a = op.bn_attrs();
  const Shape& x = request.inputs[0].shape;
  train_ = request.mode == Mode::Train;
  param_grads_ = request.param_grads;
  momentum_ = a.momentum;
  channels_ = x[1];
  m_ = x[0] * x.numel_from(2);
  const bool relu = a.activation == ops::FusedActivation::ReLU;
  const bool need_dx = !request.input_grads.empty() && request.input_grads[0];
  const bool backward = request.backward && (need_dx || request.param_grads);
  if (request.input_layout(0) != request.output_layout(0))
    fail("BatchNorm oneDNN kernel: x and y must share one layout");
  const memory::desc data_md = activation_desc(request.inputs[0], request.input_layout(0));
  const memory::desc stat_md = plain_desc(memory::dims{channels_});
  const float eps = float(a.epsilon);

  auto flags = normalization_flags::use_scale | normalization_flags::use_shift;
  if (!train_) flags |= normalization_flags::use_global_stats;
  if (relu) flags |= normalization_flags::fuse_norm_relu;
  // forward_training whenever statistics are computed (oneDNN outputs them only then) or a
  // workspace is needed for backward.
  const prop_kind fwd_prop =
      train_ || backward ? prop_kind::forward_training : prop_kind::forward_inference;
  dnnl::batch_normalization_forward::primitive_desc pd({fwd_prop, data_md, eps, flags}, make_attr(),
                                                       cpu_engine());

  fx_ = fwd_.external(data_md);
  fy_ = fwd_.external(data_md);
  fgamma_ = fwd_.external(stat_md);
  fbeta_ = fwd_.external(stat_md);
  // Batch statistics go to saved() when backward needs them, else to scratch; running
  // statistics are the op's params.
  auto saved_or_temp = [&](const memory::desc& md, const TensorSpec& spec, int& index) {
    if (!backward) return fwd_.temporary(md);
    index = int(saved_.size());
    saved_.push_back(spec);
    return fwd_.external(md);
  };
  fmean_ =
      train_ ? saved_or_temp(stat_md, {Shape{channels_}}, saved_mean_) : fwd_.external(stat_md);
  fvar_ = train_ ? saved_or_temp(stat_md, {Shape{channels_}}, saved_var_) : fwd_.external(stat_md);
  std::vector<std::pair<int, Slot>> args{{DNNL_ARG_SRC, fx_},       {DNNL_ARG_DST, fy_},
                                         {DNNL_ARG_SCALE, fgamma_}, {DNNL_ARG_SHIFT, fbeta_},
                                         {DNNL_ARG_MEAN, fmean_},   {DNNL_ARG_VARIANCE, fvar_}};
  const memory::desc ws_md = pd.workspace_desc();
  if (ws_md.get_size() > 0) {
    fws_ = saved_or_temp(ws_md, {Shape{std::int64_t(ws_md.get_size())}, DType::u8}, saved_ws_);
    args.push_back({DNNL_ARG_WORKSPACE, fws_});
  }
  fwd_.add(pd, args);
  fwd_.keep(fmean_);  // read after the run to update the running statistics
  fwd_.keep(fvar_);
  if (!backward) return;

  // NOTE: always prop backward: oneDNN 2.6 has no backward_data with use_scale (dx needs
  // gamma), and dgamma/dbeta cost nothing extra (dx needs the same sums); without param_grads
  // they go to scratch.
  dnnl::batch_normalization_backward::primitive_desc bpd(
      {prop_kind::backward, data_md, data_md, eps, flags}, make_attr(), cpu_engine(), pd);
  bx_ = bwd_.external(data_md);
  bdy_ = bwd_.external(data_md);
  bgamma_ = bwd_.external(stat_md);
  bmean_ = bwd_.external(stat_md);
  bvar_ = bwd_.external(stat_md);
  // oneDNN always produces dx; without a requested dx it goes to scratch.
  bdx_ = need_dx ? bwd_.external(data_md) : bwd_.temporary(data_md);
  std::vector<std::pair<int, Slot>> bargs{{DNNL_ARG_SRC, bx_},        {DNNL_ARG_DIFF_DST, bdy_},
                                          {DNNL_ARG_SCALE, bgamma_},  {DNNL_ARG_MEAN, bmean_},
                                          {DNNL_ARG_VARIANCE, bvar_}, {DNNL_ARG_DIFF_SRC, bdx_}};
  if (fws_ >= 0) {
    bws_ = bwd_.external(bpd.workspace_desc());
    bargs.push_back({DNNL_ARG_WORKSPACE, bws_});
  }
  bbeta_ = bwd_.external(stat_md);  // an input of prop backward with use_shift
  bdgamma_ = request.param_grads ? bwd_.external(stat_md) : bwd_.temporary(stat_md);
  bdbeta_ = request.param_grads ? bwd_.external(stat_md) : bwd_.temporary(stat_md);
  bargs.push_back({DNNL_ARG_SHIFT, bbeta_});
  bargs.push_back({DNNL_ARG_DIFF_SCALE, bdgamma_});
  bargs.push_back({DNNL_ARG_DIFF_SHIFT, bdbeta_});
  bwd_.add(bpd, bargs);
}

void BatchNormKernel::forward(const ForwardCall& call) {
  fwd_.bind(fx_, call.inputs[0]);
  fwd_.bind(fy_, call.outputs[0]);
  fwd_.bind(fgamma_, call.params[0]);
  fwd_.bind(fbeta_, call.params[1]);
  if (train_) {
    if (saved_mean_ >= 0) fwd_.bind(fmean_, call.saved[saved_mean_]);
    if (saved_var_ >= 0) fwd_.bind(fvar_, call.saved[saved_var_]);
  } else {
    fwd_.bind(fmean_, call.params[2]);
    fwd_.bind(fvar_, call.params[3]);
  }
  if (saved_ws_ >= 0) fwd_.bind(fws_, call.saved[saved_ws_]);
  fwd_.run(call.scratch);
  if (train_) update_running_stats(call);
}

// running = (1 - momentum) * running + momentum * batch, with the unbiased batch variance
// (var * M / (M - 1)); in double, as the reference computes it.
void BatchNormKernel::update_running_stats(const ForwardCall& call) const {
  const auto* mean = static_cast<const float*>(fwd_.data(fmean_));
  const auto* var = static_cast<const float*>(fwd_.data(fvar_));
  float* running_mean = call.params[2].data<float>();
  float* running_var = call.params[3].data<float>();
  const double mo = momentum_, m = double(m_);
  for (std::int64_t c = 0; c < channels_; ++c) {
    running_mean[c] = float((1.0 - mo) * running_mean[c] + mo * double(mean[c]));
    running_var[c] = float((1.0 - mo) * running_var[c] + mo * double(var[c]) * m / (m - 1.0));
  }
}

void BatchNormKernel::backward(const BackwardCall& call) {
  if (bwd_.empty()) return;
  const bool want_dx = !call.grad_inputs.empty() && call.grad_inputs[0].defined();
  const bool want_dparams = param_grads_ && call.grad_params[0].defined();
  if (!want_dx && !want_dparams) return;
  bwd_.bind(bx_, call.inputs[0]);
  bwd_.bind(bdy_, call.grad_outputs[0]);
  bwd_.bind(bgamma_, call.params[0]);
  bwd_.bind(bmean_, train_ ? call.saved[saved_mean_] : call.params[2]);
  bwd_.bind(bvar_, train_ ? call.saved[saved_var_] : call.params[3]);
  if (bws_ >= 0) bwd_.bind(bws_, call.saved[saved_ws_]);
  if (want_dx) bwd_.bind(bdx_, call.grad_inputs[0]);
  bwd_.bind(bbeta_, call.params[1]);
  if (param_grads_) {
    bwd_.bind(bdgamma_, call.grad_params[0]);
    bwd_.bind(bdbeta_, call.grad_params[1]);
  }
  bwd_.run(call.scratch);
}

}  // namespace

std::unique_ptr<Kernel> make_batch_norm_kernel(const KernelRequest& request) {
  if (request.batch_sums) return nullptr;  // oneDNN gathers the statistics itself
  if (request.inputs.size() != 1 || request.inputs[0].dtype != DType::f32) return nullptr;
  const Shape& x = request.inputs[0].shape;
  if (x.rank() != 2 && x.rank() != 4) return nullptr;
  // One value per channel has no unbiased variance: the reference reports that error.
  if (request.mode == Mode::Train && x[0] * x.numel_from(2) < 2) return nullptr;
  if (request.backward && !request.op.backward_needs().inputs) return nullptr;  // reads x
  return build_or_null(
      [&]() -> std::unique_ptr<Kernel> { return std::make_unique<BatchNormKernel>(request); });
}

std::unique_ptr<Kernel> make_batch_norm_any_layout_kernel(const KernelRequest& request) {
  if (!request.inputs.empty() && request.input_layout(0) == Layout::Blocked16)
    return make_batch_norm_kernel(request);
  return make_batch_norm_simd_kernel(request);
}

LayoutOffer batch_norm_layout_offer(const KernelRequest& request) {
  // Only where make_batch_norm_kernel builds (one value per channel goes to the reference).
  // Synchronised statistics: the plain-layout kernel (oneDNN's computes its own statistics).
  if (request.batch_sums || request.inputs.size() != 1 || request.inputs[0].shape.rank() != 4 ||
      request.inputs[0].dtype != DType::f32 ||
      (request.mode == Mode::Train &&
       request.inputs[0].shape[0] * request.inputs[0].shape.numel_from(2) < 2) ||
      (request.backward && !request.op.backward_needs().inputs))
    return {};
  return {.inputs = {true},
          .outputs = {request.input_layout(0) == Layout::Blocked16},
          .same_layout = true};
}

}  // namespace convkit::backend::cpu
