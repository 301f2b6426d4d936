// SGD with momentum, dampening and Nesterov, exactly torch.optim.SGD:
//   d = g (+ L2/L1);  b = d on the first step, else b = momentum*b + (1-dampening)*d;
//   d = d + momentum*b (Nesterov) or d = b;  w -= lr*d  (lr times the slot's lr_multiplier).
// State: "momentum" (P floats) when momentum != 0.
#include "optim/common.h"

namespace convkit::optim {

namespace {

class SGD final : public Optimizer {
 public:
  explicit SGD(const SGDOptions& o)
      : Optimizer(
            o.lr, o.reg,
            o.momentum != 0 ? std::vector<std::string>{"momentum"} : std::vector<std::string>{}),
        o_(o) {}

  std::string_view name() const override { return "sgd"; }

 private:
  void update(const SlotUpdate& s) override {
    if (o_.momentum == 0) {
      plain(s);
    } else if (o_.nesterov) {
      with_momentum<true>(s);
    } else {
      with_momentum<false>(s);
    }
  }

  void plain(const SlotUpdate& s) const {
    float* w = s.param;
    const float* g = s.grad;
    const std::int64_t n = s.numel;
    const float rate = static_cast<float>(lr() * s.lr_multiplier), scale = s.grad_scale,
                wd = s.weight_decay, l1 = s.l1;
#pragma omp parallel for simd schedule(static) if (parallel : n >= detail::kParallelMin)
    for (std::int64_t i = 0; i < n; ++i)
      w[i] -= rate * detail::effective_grad(g[i], w[i], scale, wd, l1);
  }

  template <bool kNesterov>
  void with_momentum(const SlotUpdate& s) const {
    float* w = s.param;
    const float* g = s.grad;
    float* b = buffer(0) + s.offset;
    const std::int64_t n = s.numel;
    const float rate = static_cast<float>(lr() * s.lr_multiplier), scale = s.grad_scale,
                wd = s.weight_decay, l1 = s.l1;
    const float mu = static_cast<float>(o_.momentum);
    // NOTE: PyTorch's first step sets buf = d (no dampening). The buffer starts at 0, so
    // mu*0 + mix*d with mix = 1 on step 1 gives exactly that.
    const float mix = steps() == 1 ? 1.0f : static_cast<float>(1.0 - o_.dampening);
#pragma omp parallel for simd schedule(static) if (parallel : n >= detail::kParallelMin)
    for (std::int64_t i = 0; i < n; ++i) {
      const float d = detail::effective_grad(g[i], w[i], scale, wd, l1);
      const float buf = b[i] * mu + mix * d;
      b[i] = buf;
      w[i] -= rate * (kNesterov ? d + mu * buf : buf);
    }
  }

  SGDOptions o_;
};

}  // namespace

std::unique_ptr<Optimizer> make_sgd(const SGDOptions& o) {
  detail::check_positive("sgd", "lr", o.lr);
  detail::check_non_negative("sgd", "momentum", o.momentum);
  if (!(o.dampening >= 0 && o.dampening <= 1))
    fail("sgd: dampening must be in [0, 1], got {}", o.dampening);
  detail::check_regularization("sgd", o.reg);
  if (o.nesterov && (o.momentum == 0 || o.dampening != 0))
    fail("sgd: nesterov needs momentum > 0 and dampening = 0, got momentum {} and dampening {}",
         o.momentum, o.dampening);
  return std::make_unique<SGD>(o);
}

}  // namespace convkit::optim
