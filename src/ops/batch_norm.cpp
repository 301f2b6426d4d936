// BatchNorm reference kernel. The input is viewed as x [N, C, S] with S = H * W (or 1 for a
// 2-D [N, C] input); each channel's statistics run over its M = N * S values. One channel per
// OpenMP iteration, sums in double in a fixed order, so threads do not matter.
//   Train: mean, var (biased) from the batch; y = gamma * (x - mean) * invstd + beta.
//   Infer: the same with running_mean and running_var.
// Backward (Train), with g = dy (masked by y > 0 under a fused ReLU) and xhat = (x - mean) *
// invstd:
//   dbeta = sum g, dgamma = sum g * xhat, dx = gamma * invstd * (g - dbeta / M - xhat * dgamma /
//   M).
// Backward (Infer): statistics are constants, so dx = gamma * invstd * g.
#include "ops/batch_norm.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace convkit::ops {

// Loops with less work than this run on one thread (forking costs more than it saves).
constexpr std::int64_t kParallelWork = 32768;

BatchNorm::BatchNorm(BatchNormAttrs attrs) : a_(attrs) {
  if (!(a_.momentum >= 0.0 && a_.momentum <= 1.0))
    fail("BatchNorm attribute 'momentum' must be in [0, 1], got {}", a_.momentum);
  if (!(a_.epsilon > 0.0)) fail("BatchNorm attribute 'epsilon' must be > 0, got {}", a_.epsilon);
  if (a_.activation != FusedActivation::None && a_.activation != FusedActivation::ReLU)
    fail("BatchNorm attribute 'activation' must be none or relu, got {}", name_of(a_.activation));
}

Attrs BatchNorm::attrs() const {
  return {{"momentum", a_.momentum},
          {"epsilon", a_.epsilon},
          {"activation", std::string(name_of(a_.activation))}};
}

std::vector<TensorSpec> BatchNorm::infer(std::span<const TensorSpec> inputs) const {
  expect_inputs("BatchNorm", inputs, 1);
  const Shape& s = inputs[0].shape;
  if (s.rank() != 2 && s.rank() != 4)
    shape_fail("BatchNorm expects a 2-D input [N, C] or a 4-D input [N, C, H, W], got {}", s.str());
  if (inputs[0].dtype != DType::f32)
    shape_fail("BatchNorm expects an f32 input, got {}", name_of(inputs[0].dtype));
  return {inputs[0]};
}

std::vector<ParamSpec> BatchNorm::params(std::span<const TensorSpec> inputs) const {
  const Shape c{inputs[0].shape[1]};
  return {
      {.name = "gamma", .shape = c, .init = {InitKind::Ones}, .decay = false},
      {.name = "beta", .shape = c, .init = {InitKind::Zeros}, .decay = false},
      {.name = "running_mean",
       .shape = c,
       .init = {InitKind::Zeros},
       .trainable = false,
       .decay = false},
      {.name = "running_var",
       .shape = c,
       .init = {InitKind::Ones},
       .trainable = false,
       .decay = false},
  };
}

std::vector<TensorSpec> BatchNorm::saved(std::span<const TensorSpec> inputs) const {
  const Shape c{inputs[0].shape[1]};
  return {{c, DType::f32}, {c, DType::f32}};  // batch mean, inverse std
}

BackwardNeeds BatchNorm::backward_needs() const {
  return {.inputs = true, .outputs = a_.activation == FusedActivation::ReLU};
}

double BatchNorm::flops(std::span<const TensorSpec> inputs) const {
  return 2.0 * double(inputs[0].shape.numel());  // one multiply-add per element
}

namespace {

// x viewed as [N, C, S].
struct NcsView {
  std::int64_t n, c, s;
  std::int64_t m() const { return n * s; }
  std::int64_t at(std::int64_t in, std::int64_t ic, std::int64_t is) const {
    return (in * c + ic) * s + is;
  }
};

NcsView ncs_view(const Tensor& x) {
  return {x.dim(0), x.dim(1), x.shape().numel_from(2)};
}

}  // namespace

void BatchNorm::forward(const ForwardCall& call) const {
  const Tensor& xt = call.inputs[0];
  const NcsView l = ncs_view(xt);
  const float* x = xt.data<float>();
  float* y = call.outputs[0].data<float>();
  const float* gamma = call.params[0].data<float>();
  const float* beta = call.params[1].data<float>();
  float* running_mean = call.params[2].data<float>();
  float* running_var = call.params[3].data<float>();
  const bool train = call.mode == Mode::Train;
  const bool relu = a_.activation == FusedActivation::ReLU;
  if (train && l.m() < 2)
    fail("BatchNorm in training needs more than 1 value per channel, got input {}",
         xt.shape().str());
  float* saved_mean = train && call.saved.size() > 1 ? call.saved[0].data<float>() : nullptr;
  float* saved_invstd = train && call.saved.size() > 1 ? call.saved[1].data<float>() : nullptr;
  double m = double(l.m());
  // Synchronised statistics: every rank's sums of x and x^2 per channel, and count.
  std::vector<double> synced;
  if (train && call.batch_sums) {
    synced.assign(std::size_t(2 * l.c + 1), 0.0);
    for (std::int64_t c = 0; c < l.c; ++c)
      for (std::int64_t n = 0; n < l.n; ++n)
        for (std::int64_t i = 0; i < l.s; ++i) {
          const double v = x[l.at(n, c, i)];
          synced[std::size_t(c)] += v;
          synced[std::size_t(l.c + c)] += v * v;
        }
    synced[std::size_t(2 * l.c)] = m;
    (*call.batch_sums)(synced);
    m = synced[std::size_t(2 * l.c)];
  }

#pragma omp parallel for schedule(static) if (l.n * l.c * l.s > kParallelWork)
  for (std::int64_t c = 0; c < l.c; ++c) {
    double mean, var;
    if (train && !synced.empty()) {
      mean = synced[std::size_t(c)] / m;
      var = std::max(0.0, synced[std::size_t(l.c + c)] / m - mean * mean);
      const double mo = a_.momentum;
      running_mean[c] = float((1.0 - mo) * running_mean[c] + mo * mean);
      running_var[c] = float((1.0 - mo) * running_var[c] + mo * var * m / (m - 1.0));
    } else if (train) {
      double s = 0;
      for (std::int64_t n = 0; n < l.n; ++n)
        for (std::int64_t i = 0; i < l.s; ++i) s += x[l.at(n, c, i)];
      mean = s / m;
      double ss = 0;
      for (std::int64_t n = 0; n < l.n; ++n)
        for (std::int64_t i = 0; i < l.s; ++i) {
          const double d = x[l.at(n, c, i)] - mean;
          ss += d * d;
        }
      var = ss / m;
      const double mo = a_.momentum;
      running_mean[c] = float((1.0 - mo) * running_mean[c] + mo * mean);
      running_var[c] = float((1.0 - mo) * running_var[c] + mo * var * m / (m - 1.0));
    } else {
      mean = running_mean[c];
      var = running_var[c];
    }
    const double invstd = 1.0 / std::sqrt(var + a_.epsilon);
    if (saved_mean) {
      saved_mean[c] = float(mean);
      saved_invstd[c] = float(invstd);
    }
    const double scale = double(gamma[c]) * invstd;
    for (std::int64_t n = 0; n < l.n; ++n)
      for (std::int64_t i = 0; i < l.s; ++i) {
        const std::int64_t k = l.at(n, c, i);
        const float v = float((x[k] - mean) * scale + beta[c]);
        y[k] = relu ? std::max(v, 0.0f) : v;
      }
  }
}

void BatchNorm::backward(const BackwardCall& call) const {
  const Tensor& xt = call.inputs[0];
  const NcsView l = ncs_view(xt);
  const float* x = xt.data<float>();
  const float* dy = call.grad_outputs[0].data<float>();
  const float* y = a_.activation == FusedActivation::ReLU ? call.outputs[0].data<float>() : nullptr;
  auto grad = [dy, y](std::int64_t k) { return y && !(y[k] > 0.0f) ? 0.0 : double(dy[k]); };
  const float* gamma = call.params[0].data<float>();
  const float* running_mean = call.params[2].data<float>();
  const float* running_var = call.params[3].data<float>();
  // After an Infer forward the statistics are constants: an affine map per channel.
  const bool train = call.mode == Mode::Train && call.saved.size() > 1 && call.saved[0].defined() &&
                     call.saved[1].defined();
  const float* saved_mean = train ? call.saved[0].data<float>() : nullptr;
  const float* saved_invstd = train ? call.saved[1].data<float>() : nullptr;
  float* dx = !call.grad_inputs.empty() && call.grad_inputs[0].defined()
                  ? call.grad_inputs[0].data<float>()
                  : nullptr;
  float* dgamma = call.grad_params.size() > 0 && call.grad_params[0].defined()
                      ? call.grad_params[0].data<float>()
                      : nullptr;
  float* dbeta = call.grad_params.size() > 1 && call.grad_params[1].defined()
                     ? call.grad_params[1].data<float>()
                     : nullptr;
  double m = double(l.m());
  auto mean_of = [&](std::int64_t c) {
    return train ? double(saved_mean[c]) : double(running_mean[c]);
  };
  auto invstd_of = [&](std::int64_t c) {
    return train ? double(saved_invstd[c]) : 1.0 / std::sqrt(double(running_var[c]) + a_.epsilon);
  };
  // Per channel: sum g and sum g * xhat (this rank's: the parameter gradients).
  auto channel_sums = [&](std::int64_t c, double& sum_g, double& sum_gx) {
    const double mean = mean_of(c), invstd = invstd_of(c);
    sum_g = sum_gx = 0;
    for (std::int64_t n = 0; n < l.n; ++n)
      for (std::int64_t i = 0; i < l.s; ++i) {
        const std::int64_t k = l.at(n, c, i);
        const double g = grad(k);
        sum_g += g;
        sum_gx += g * (x[k] - mean) * invstd;
      }
    if (dgamma) dgamma[c] = float(sum_gx);
    if (dbeta) dbeta[c] = float(sum_g);
  };
  auto write_dx = [&](std::int64_t c, double mean_g, double mean_gx) {
    const double mean = mean_of(c), invstd = invstd_of(c);
    const double scale = double(gamma[c]) * invstd;
    for (std::int64_t n = 0; n < l.n; ++n)
      for (std::int64_t i = 0; i < l.s; ++i) {
        const std::int64_t k = l.at(n, c, i);
        const double xhat = (x[k] - mean) * invstd;
        dx[k] = float(scale * (grad(k) - mean_g - xhat * mean_gx));
      }
  };
  if (train && call.batch_sums) {
    // Synchronised statistics: dx needs the job's sums and count.
    std::vector<double> sums(std::size_t(2 * l.c + 1), 0.0);
    for (std::int64_t c = 0; c < l.c; ++c)
      channel_sums(c, sums[std::size_t(c)], sums[std::size_t(l.c + c)]);
    sums[std::size_t(2 * l.c)] = m;
    (*call.batch_sums)(sums);
    m = sums[std::size_t(2 * l.c)];
    if (dx)
      for (std::int64_t c = 0; c < l.c; ++c)
        write_dx(c, sums[std::size_t(c)] / m, sums[std::size_t(l.c + c)] / m);
    return;
  }
#pragma omp parallel for schedule(static) if (l.n * l.c * l.s > kParallelWork)
  for (std::int64_t c = 0; c < l.c; ++c) {
    double sum_g = 0, sum_gx = 0;
    channel_sums(c, sum_g, sum_gx);
    if (dx) write_dx(c, train ? sum_g / m : 0.0, train ? sum_gx / m : 0.0);
  }
}

std::shared_ptr<const Op> make_batch_norm(const Attrs& attrs) {
  return std::make_shared<BatchNorm>(BatchNormAttrs{
      .momentum = attrs.get_float("momentum", 0.1),
      .epsilon = attrs.get_float("epsilon", 1e-5),
      .activation = fused_activation_from_name(attrs.get_string("activation", "none")),
  });
}

}  // namespace convkit::ops
