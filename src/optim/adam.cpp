// Adam with bias correction and optional AMSGrad, exactly torch.optim.Adam (also the kernel
// behind AdamW, whose decoupled decay is one extra multiply in the same loop):
//   d = g (+ L2/L1);  m = lerp(m, d, 1-beta1);  v = beta2*v + (1-beta2)*d*d;  [vmax = max(vmax, v)]
//   w -= lr/(1-beta1^t) * m / (sqrt(v or vmax)/sqrt(1-beta2^t) + eps)  (lr times the slot's
//   lr_multiplier, also in AdamW's decay)
// State: "exp_avg", "exp_avg_sq"[, "max_exp_avg_sq"] (P floats each).
#include "optim/common.h"

#include <cmath>

namespace convkit::optim {

namespace {

std::vector<std::string> adam_buffers(bool amsgrad) {
  std::vector<std::string> names{"exp_avg", "exp_avg_sq"};
  if (amsgrad) names.emplace_back("max_exp_avg_sq");
  return names;
}

class Adam final : public Optimizer {
 public:
  Adam(std::string_view name, const AdamOptions& o, double decoupled_weight_decay)
      : Optimizer(o.lr, o.reg, adam_buffers(o.amsgrad)),
        name_(name),
        o_(o),
        decoupled_(decoupled_weight_decay) {}

  std::string_view name() const override { return name_; }

 private:
  void begin_step() override {
    // Scalars in double as PyTorch computes them in Python, then rounded once to float.
    const auto t = static_cast<double>(steps());
    step_size_ = lr() / (1.0 - std::pow(o_.beta1, t));
    bias_correction2_sqrt_ = std::sqrt(1.0 - std::pow(o_.beta2, t));
  }

  void update(const SlotUpdate& s) override {
    const bool decouple = decoupled_ > 0 && s.decay;
    if (o_.amsgrad) {
      decouple ? run<true, true>(s) : run<true, false>(s);
    } else {
      decouple ? run<false, true>(s) : run<false, false>(s);
    }
  }

  template <bool kAmsgrad, bool kDecoupled>
  void run(const SlotUpdate& s) const {
    float* w = s.param;
    const float* g = s.grad;
    float* m = buffer(0) + s.offset;
    float* v = buffer(1) + s.offset;
    float* vmax = kAmsgrad ? buffer(2) + s.offset : nullptr;
    const std::int64_t n = s.numel;
    const float scale = s.grad_scale, wd = s.weight_decay, l1 = s.l1;
    // The slot's rate is lr() * lr_multiplier, in the decoupled decay and the step size alike
    // (step_size_ = lr() / (1 - beta1^t), so the product is that of an optimizer at the lower lr).
    const double rate = lr() * s.lr_multiplier;
    const auto shrink = static_cast<float>(1.0 - rate * decoupled_);
    const auto mix1 = static_cast<float>(1.0 - o_.beta1);
    const auto beta2 = static_cast<float>(o_.beta2), mix2 = static_cast<float>(1.0 - o_.beta2);
    const auto step_size = static_cast<float>(step_size_ * s.lr_multiplier);
    const auto bc2_sqrt = static_cast<float>(bias_correction2_sqrt_);
    const auto eps = static_cast<float>(o_.eps);
#pragma omp parallel for simd schedule(static) if (parallel : n >= detail::kParallelMin)
    for (std::int64_t i = 0; i < n; ++i) {
      float wi = w[i];
      const float d = detail::effective_grad(g[i], wi, scale, wd, l1);
      if constexpr (kDecoupled) wi *= shrink;
      const float mi = m[i] + mix1 * (d - m[i]);
      const float vi = v[i] * beta2 + mix2 * d * d;
      m[i] = mi;
      v[i] = vi;
      float second = vi;
      if constexpr (kAmsgrad) {
        const float prev = vmax[i];
        second = vi > prev ? vi : prev;  // NOTE: not std::max, which GCC 12 leaves scalar here
        vmax[i] = second;
      }
      const float denom = std::sqrt(second) / bc2_sqrt + eps;
      w[i] = wi - step_size * (mi / denom);
    }
  }

  std::string_view name_;  // "adam" or "adamw" (string literals)
  AdamOptions o_;
  double decoupled_;
  double step_size_ = 0;
  double bias_correction2_sqrt_ = 1;
};

}  // namespace

namespace detail {

void check_adam(std::string_view optimizer, double lr, double beta1, double beta2, double eps) {
  check_positive(optimizer, "lr", lr);
  check_unit_interval(optimizer, "beta1", beta1);
  check_unit_interval(optimizer, "beta2", beta2);
  check_positive(optimizer, "eps", eps);
}

std::unique_ptr<Optimizer> make_adam_family(std::string_view name, const AdamOptions& options,
                                            double decoupled_weight_decay) {
  return std::make_unique<Adam>(name, options, decoupled_weight_decay);
}

}  // namespace detail

std::unique_ptr<Optimizer> make_adam(const AdamOptions& o) {
  detail::check_adam("adam", o.lr, o.beta1, o.beta2, o.eps);
  detail::check_regularization("adam", o.reg);
  return detail::make_adam_family("adam", o, 0.0);
}

}  // namespace convkit::optim
