// AdamW, exactly torch.optim.AdamW: decoupled weight decay w *= 1 - lr*weight_decay on slots
// with decay=true, then Adam's update on the raw (clipped, L1-regularized) gradient. It runs in
// Adam's fused loop (adam.cpp); this file holds its options and checks.
#include "optim/common.h"

namespace convkit::optim {

std::unique_ptr<Optimizer> make_adamw(const AdamWOptions& o) {
  detail::check_adam("adamw", o.lr, o.beta1, o.beta2, o.eps);
  // NOTE: weight decay is decoupled, so the coupled L2 of Regularization stays 0.
  const AdamOptions adam{.lr = o.lr,
                         .beta1 = o.beta1,
                         .beta2 = o.beta2,
                         .eps = o.eps,
                         .amsgrad = o.amsgrad,
                         .reg = {.weight_decay = 0, .l1 = o.l1, .clip_norm = o.clip_norm}};
  detail::check_non_negative("adamw", "weight_decay", o.weight_decay);
  detail::check_regularization("adamw", adam.reg);
  return detail::make_adam_family("adamw", adam, o.weight_decay);
}

}  // namespace convkit::optim
