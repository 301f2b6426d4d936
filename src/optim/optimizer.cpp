// The step every optimizer shares (block checks, state sizing, deterministic global gradient
// norm and clipping), checkpoint state, option checks and the factory by name.
#include "optim/common.h"

#include <fmt/ranges.h>
#include <algorithm>
#include <cmath>

namespace convkit::optim {

namespace {
// Gradient elements per partial sum of the global norm. The chunks depend only on the slot
// layout, so the norm is bit-identical for any thread count.
constexpr std::int64_t kNormChunk = 8192;
}  // namespace

Optimizer::Optimizer(double lr, const Regularization& reg, std::vector<std::string> buffer_names)
    : lr_(lr), reg_(reg), buffer_names_(std::move(buffer_names)) {}

Optimizer::~Optimizer() = default;

void Optimizer::set_lr(double lr) {
  if (!(lr >= 0) || !std::isfinite(lr)) fail("{}: lr must be >= 0 and finite, got {}", name(), lr);
  lr_ = lr;
}

double Optimizer::global_grad_norm(const ParamBlock& block) {
  chunks_.clear();  // keeps its capacity: no allocation after the first step
  for (const ParamSlot& slot : block.slots) {
    if (!slot.trainable) continue;
    for (std::int64_t done = 0; done < slot.numel; done += kNormChunk)
      chunks_.emplace_back(slot.offset + done, std::min(kNormChunk, slot.numel - done));
  }
  partials_.resize(chunks_.size());
  const auto count = static_cast<std::int64_t>(chunks_.size());
  const float* grads = block.grads;
  const auto* chunks = chunks_.data();
  double* partials = partials_.data();
#pragma omp parallel for schedule(static) if (count * kNormChunk >= detail::kParallelMin)
  for (std::int64_t c = 0; c < count; ++c) {
    const float* g = grads + chunks[c].first;
    const std::int64_t n = chunks[c].second;
    double sum = 0;
#pragma omp simd reduction(+ : sum)
    for (std::int64_t i = 0; i < n; ++i) sum += static_cast<double>(g[i]) * g[i];
    partials[c] = sum;
  }
  double total = 0;
  for (std::int64_t c = 0; c < count; ++c) total += partials[c];  // fixed order
  return std::sqrt(total);
}

void Optimizer::step(const ParamBlock& block) {
  if (block.numel < 0) fail("{}: parameter block has negative size {}", name(), block.numel);
  if (block.numel > 0 && (block.params == nullptr || block.grads == nullptr))
    fail("{}: parameter block of {} floats has no {} pointer", name(), block.numel,
         block.params == nullptr ? "params" : "grads");
  for (const ParamSlot& slot : block.slots) {
    if (slot.offset < 0 || slot.numel < 0 || slot.offset + slot.numel > block.numel)
      fail("{}: slot '{}' (offset {}, {} floats) lies outside the parameter block of {} floats",
           name(), slot.name, slot.offset, slot.numel, block.numel);
    if (!(slot.lr_multiplier >= 0) || !std::isfinite(slot.lr_multiplier))
      fail("{}: slot '{}' has lr_multiplier {}; it must be >= 0 and finite", name(), slot.name,
           slot.lr_multiplier);
  }
  if (buffers_.empty()) {
    for (std::size_t k = 0; k < buffer_names_.size(); ++k)
      buffers_.push_back(Tensor::zeros(Shape{block.numel}));
  } else if (buffers_.front().numel() != block.numel) {
    fail("{}: optimizer state holds {} floats per buffer but the parameter block has {}", name(),
         buffers_.front().numel(), block.numel);
  }

  last_grad_norm_ = global_grad_norm(block);
  float grad_scale = 1.0f;
  if (reg_.clip_norm > 0) {
    // As torch.nn.utils.clip_grad_norm_: coef = max_norm / (norm + 1e-6), clamped to 1.
    const double coef = reg_.clip_norm / (last_grad_norm_ + 1e-6);
    if (coef < 1.0) grad_scale = static_cast<float>(coef);
  }

  ++steps_;
  begin_step();
  for (const ParamSlot& slot : block.slots) {
    if (!slot.trainable || slot.numel == 0) continue;
    update(SlotUpdate{
        .param = block.params + slot.offset,
        .grad = block.grads + slot.offset,
        .offset = slot.offset,
        .numel = slot.numel,
        .grad_scale = grad_scale,
        .weight_decay = slot.decay ? static_cast<float>(reg_.weight_decay) + slot.l2 : 0.0f,
        .l1 = slot.decay ? static_cast<float>(reg_.l1) + slot.l1 : 0.0f,
        .decay = slot.decay,
        .lr_multiplier = slot.lr_multiplier});
  }
}

OptimizerState Optimizer::state() const {
  OptimizerState out;
  for (std::size_t k = 0; k < buffers_.size(); ++k)
    out.emplace_back(buffer_names_[k], buffers_[k].clone());
  return out;
}

void Optimizer::load_state(const OptimizerState& state, std::int64_t steps) {
  if (steps < 0) fail("{}: cannot load a negative step count {}", name(), steps);
  if (state.empty() && steps == 0) {
    buffers_.clear();
    steps_ = 0;
    return;
  }
  std::vector<std::string_view> given;
  for (const auto& [key, tensor] : state) {
    if (std::find(given.begin(), given.end(), key) != given.end())
      fail("{}: state '{}' given twice", name(), key);
    given.push_back(key);
    if (std::find(buffer_names_.begin(), buffer_names_.end(), key) == buffer_names_.end())
      fail("{}: unexpected state '{}' (this optimizer keeps: {})", name(), key,
           buffer_names_.empty() ? std::string("nothing")
                                 : fmt::format("{}", fmt::join(buffer_names_, ", ")));
    if (!tensor.defined() || tensor.dtype() != DType::f32 || !tensor.is_contiguous())
      fail("{}: state '{}' must be a defined, contiguous f32 tensor", name(), key);
  }
  std::vector<Tensor> loaded;
  for (const std::string& want : buffer_names_) {
    auto it =
        std::find_if(state.begin(), state.end(), [&](const auto& kv) { return kv.first == want; });
    if (it == state.end())
      fail("{}: state '{}' is missing (given: {})", name(), want,
           given.empty() ? std::string("nothing") : fmt::format("{}", fmt::join(given, ", ")));
    const Tensor& t = it->second;
    if (!loaded.empty() && t.numel() != loaded.front().numel())
      fail("{}: state '{}' has {} floats but '{}' has {}", name(), want, t.numel(),
           buffer_names_.front(), loaded.front().numel());
    loaded.push_back(t.reshape(Shape{t.numel()}).clone());
  }
  buffers_ = std::move(loaded);
  steps_ = steps;
}

namespace detail {

void check_positive(std::string_view optimizer, std::string_view key, double value) {
  if (!(value > 0) || !std::isfinite(value))
    fail("{}: {} must be > 0, got {}", optimizer, key, value);
}

void check_non_negative(std::string_view optimizer, std::string_view key, double value) {
  if (!(value >= 0) || !std::isfinite(value))
    fail("{}: {} must be >= 0, got {}", optimizer, key, value);
}

void check_unit_interval(std::string_view optimizer, std::string_view key, double value) {
  if (!(value >= 0 && value < 1)) fail("{}: {} must be in [0, 1), got {}", optimizer, key, value);
}

void check_regularization(std::string_view optimizer, const Regularization& reg) {
  check_non_negative(optimizer, "weight_decay", reg.weight_decay);
  check_non_negative(optimizer, "l1", reg.l1);
  check_non_negative(optimizer, "clip_norm", reg.clip_norm);
}

}  // namespace detail

namespace {

bool as_bool(std::string_view optimizer, std::string_view key, double value) {
  if (value != 0 && value != 1) fail("{}: {} must be 0 or 1, got {}", optimizer, key, value);
  return value == 1;
}

bool set_regularization(Regularization& reg, std::string_view key, double value) {
  if (key == "weight_decay")
    reg.weight_decay = value;
  else if (key == "l1")
    reg.l1 = value;
  else if (key == "clip_norm")
    reg.clip_norm = value;
  else
    return false;
  return true;
}

[[noreturn]] void unknown_key(std::string_view optimizer, std::string_view key, double value,
                              std::string_view valid) {
  fail("{}: unknown option '{}' = {} (valid: {})", optimizer, key, value, valid);
}

}  // namespace

std::unique_ptr<Optimizer> make_optimizer(std::string_view name, const OptionList& options) {
  for (std::size_t i = 0; i < options.size(); ++i)
    for (std::size_t j = 0; j < i; ++j)
      if (options[i].first == options[j].first)
        fail("{}: option '{}' given twice ({} and {})", name, options[i].first, options[j].second,
             options[i].second);

  if (name == "sgd") {
    SGDOptions o;
    for (const auto& [key, v] : options) {
      if (key == "lr")
        o.lr = v;
      else if (key == "momentum")
        o.momentum = v;
      else if (key == "dampening")
        o.dampening = v;
      else if (key == "nesterov")
        o.nesterov = as_bool(name, key, v);
      else if (!set_regularization(o.reg, key, v))
        unknown_key(name, key, v, "lr, momentum, dampening, nesterov, weight_decay, l1, clip_norm");
    }
    return make_sgd(o);
  }
  if (name == "adam" || name == "adamw") {
    AdamOptions o;
    AdamWOptions w;
    for (const auto& [key, v] : options) {
      if (key == "lr")
        o.lr = w.lr = v;
      else if (key == "beta1")
        o.beta1 = w.beta1 = v;
      else if (key == "beta2")
        o.beta2 = w.beta2 = v;
      else if (key == "eps")
        o.eps = w.eps = v;
      else if (key == "amsgrad")
        o.amsgrad = w.amsgrad = as_bool(name, key, v);
      else if (key == "weight_decay")
        o.reg.weight_decay = w.weight_decay = v;
      else if (key == "l1")
        o.reg.l1 = w.l1 = v;
      else if (key == "clip_norm")
        o.reg.clip_norm = w.clip_norm = v;
      else
        unknown_key(name, key, v, "lr, beta1, beta2, eps, amsgrad, weight_decay, l1, clip_norm");
    }
    return name == "adam" ? make_adam(o) : make_adamw(w);
  }
  if (name == "rmsprop") {
    RMSpropOptions o;
    for (const auto& [key, v] : options) {
      if (key == "lr")
        o.lr = v;
      else if (key == "alpha")
        o.alpha = v;
      else if (key == "eps")
        o.eps = v;
      else if (key == "momentum")
        o.momentum = v;
      else if (key == "centered")
        o.centered = as_bool(name, key, v);
      else if (!set_regularization(o.reg, key, v))
        unknown_key(name, key, v,
                    "lr, alpha, eps, momentum, centered, weight_decay, l1, clip_norm");
    }
    return make_rmsprop(o);
  }
  fail("unknown optimizer '{}' (valid: sgd, adam, adamw, rmsprop)", name);
}

}  // namespace convkit::optim
