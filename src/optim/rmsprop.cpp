// RMSprop with optional momentum and centering, exactly torch.optim.RMSprop:
//   d = g (+ L2/L1);  v = alpha*v + (1-alpha)*d*d;  [c = lerp(c, d, 1-alpha); v' = v - c*c]
//   a = sqrt(v or v') + eps;  with momentum: b = momentum*b + d/a, w -= lr*b;  else w -= lr*d/a
//   (lr times the slot's lr_multiplier)
// State: "square_avg"[, "momentum"][, "grad_avg"] (P floats each).
#include "optim/common.h"

#include <cmath>

namespace convkit::optim {

namespace {

std::vector<std::string> rmsprop_buffers(const RMSpropOptions& o) {
  std::vector<std::string> names{"square_avg"};
  if (o.momentum > 0) names.emplace_back("momentum");
  if (o.centered) names.emplace_back("grad_avg");
  return names;
}

class RMSprop final : public Optimizer {
 public:
  explicit RMSprop(const RMSpropOptions& o) : Optimizer(o.lr, o.reg, rmsprop_buffers(o)), o_(o) {}

  std::string_view name() const override { return "rmsprop"; }

 private:
  void update(const SlotUpdate& s) override {
    const bool momentum = o_.momentum > 0;
    if (o_.centered) {
      momentum ? run<true, true>(s) : run<false, true>(s);
    } else {
      momentum ? run<true, false>(s) : run<false, false>(s);
    }
  }

  template <bool kMomentum, bool kCentered>
  void run(const SlotUpdate& s) const {
    float* w = s.param;
    const float* g = s.grad;
    float* sq = buffer(0) + s.offset;
    float* buf = kMomentum ? buffer(1) + s.offset : nullptr;
    float* avg = kCentered ? buffer(kMomentum ? 2 : 1) + s.offset : nullptr;
    const std::int64_t n = s.numel;
    const float scale = s.grad_scale, wd = s.weight_decay, l1 = s.l1;
    const auto rate = static_cast<float>(lr() * s.lr_multiplier);
    const auto alpha = static_cast<float>(o_.alpha), mix = static_cast<float>(1.0 - o_.alpha);
    const auto eps = static_cast<float>(o_.eps), mu = static_cast<float>(o_.momentum);
#pragma omp parallel for simd schedule(static) if (parallel : n >= detail::kParallelMin)
    for (std::int64_t i = 0; i < n; ++i) {
      const float d = detail::effective_grad(g[i], w[i], scale, wd, l1);
      const float v = sq[i] * alpha + mix * d * d;
      sq[i] = v;
      float var = v;
      if constexpr (kCentered) {
        const float c = avg[i] + mix * (d - avg[i]);
        avg[i] = c;
        var = v - c * c;  // square_avg.addcmul(grad_avg, grad_avg, value=-1)
      }
      const float a = std::sqrt(var) + eps;
      if constexpr (kMomentum) {
        const float b = buf[i] * mu + d / a;
        buf[i] = b;
        w[i] -= rate * b;
      } else {
        w[i] -= rate * (d / a);
      }
    }
  }

  RMSpropOptions o_;
};

}  // namespace

std::unique_ptr<Optimizer> make_rmsprop(const RMSpropOptions& o) {
  detail::check_positive("rmsprop", "lr", o.lr);
  detail::check_unit_interval("rmsprop", "alpha", o.alpha);
  detail::check_positive("rmsprop", "eps", o.eps);
  detail::check_non_negative("rmsprop", "momentum", o.momentum);
  detail::check_regularization("rmsprop", o.reg);
  return std::make_unique<RMSprop>(o);
}

}  // namespace convkit::optim
