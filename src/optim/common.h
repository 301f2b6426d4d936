// Internal helpers shared by the optimizer files: the fused effective gradient (clip scale,
// L2 and L1 applied on the fly, never written back to the gradient arena) and option checks.
#pragma once

#include <convkit/optim/optimizer.h>

#include <cstdint>
#include <memory>
#include <string_view>

namespace convkit::optim::detail {

// Slots smaller than this are updated by the calling thread alone (an OpenMP fork costs more).
constexpr std::int64_t kParallelMin = std::int64_t{1} << 15;

// grad_scale*g + weight_decay*w + l1*sign(w), with sign(0) = 0.
// NOTE: L2 is added as PyTorch does (grad.add(param, alpha=weight_decay)); L1 is ours. sign is
// written as (w > 0) - (w < 0): GCC 12 does not if-convert the `?:` form and then leaves the
// callers' loops scalar.
inline float effective_grad(float g, float w, float grad_scale, float weight_decay, float l1) {
  const float d = g * grad_scale + weight_decay * w;
  return d + l1 * static_cast<float>((w > 0.0f) - (w < 0.0f));
}

// Option checks; each throws Error "<optimizer>: <key> must be ..., got <value>".
void check_positive(std::string_view optimizer, std::string_view key, double value);
void check_non_negative(std::string_view optimizer, std::string_view key, double value);
void check_unit_interval(std::string_view optimizer, std::string_view key, double value);  // [0, 1)
void check_regularization(std::string_view optimizer, const Regularization& reg);
void check_adam(std::string_view optimizer, double lr, double beta1, double beta2, double eps);

// Adam's update (adam.cpp), shared with AdamW: `options` already validated; when
// decoupled_weight_decay > 0, slots with decay=true first get w *= 1 - lr*decoupled_weight_decay.
std::unique_ptr<Optimizer> make_adam_family(std::string_view name, const AdamOptions& options,
                                            double decoupled_weight_decay);

}  // namespace convkit::optim::detail
