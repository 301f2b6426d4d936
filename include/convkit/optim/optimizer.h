// Optimizers over flat arenas: SGD (momentum, dampening, Nesterov), Adam (amsgrad), AdamW and
// RMSprop (momentum, centered), with L2/L1 regularization and global-norm gradient clipping.
// Parameters and gradients are one flat float block each (same layout, P = block.numel floats);
// each parameter tensor is a ParamSlot inside it, with its own learning-rate multiplier (a
// parameter group's). Optimizer state is a few more flat buffers of P floats, sized on the first
// step, so a step is one fused loop per slot and allocates nothing.
// The update formulas are exactly torch.optim's; L1 and clipping are convkit's additions.
#pragma once

#include <convkit/tensor/param_block.h>
#include <convkit/tensor/tensor.h>

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace convkit::optim {

// The flat block types live in tensor/ (tensor/param_block.h) so graph/ and nn/ need not include
// optim/; these aliases keep the optim:: spelling.
using ParamSlot = convkit::ParamSlot;
using ParamBlock = convkit::ParamBlock;

// Regularization shared by every optimizer. weight_decay is PyTorch's coupled L2 (adds
// weight_decay*w to the gradient); l1 adds l1*sign(w); clip_norm > 0 rescales the gradient so
// its global L2 norm over trainable slots is at most clip_norm (torch.nn.utils.clip_grad_norm_).
struct Regularization {
  double weight_decay = 0;
  double l1 = 0;
  double clip_norm = 0;
};

using OptimizerState = convkit::OptimizerState;  // named f32 buffers of P floats (checkpoints)

class Optimizer {
 public:
  virtual ~Optimizer();
  Optimizer(const Optimizer&) = delete;
  Optimizer& operator=(const Optimizer&) = delete;

  virtual std::string_view name() const = 0;  // "sgd", "adam", "adamw", "rmsprop"

  // One update: g = clip_scale * grad (+ weight_decay * w + l1 * sign(w) on slots with
  // decay=true), then the optimizer's rule on every trainable slot at learning rate
  // lr() * slot.lr_multiplier (AdamW's decoupled decay too). Frozen slots are left untouched and
  // their gradients are never read. It reads the gradients as they are: after backward, or
  // after a distributed run has all-reduced them (the training step as parts: train/step.h).
  // Throws Error on a malformed block (a slot outside it, a negative or non-finite
  // lr_multiplier) or on a block whose size differs from the state's.
  void step(const ParamBlock& block);

  double lr() const { return lr_; }
  void set_lr(double lr);  // schedules call this before each step; lr >= 0 and finite
  // Completed steps. NOTE: one count for the whole block (Keras-style), where PyTorch counts per
  // parameter: a slot unfrozen mid-run starts Adam's bias correction at the global step.
  std::int64_t steps() const { return steps_; }
  // Global L2 norm of the raw gradient over trainable slots, before clipping (for logging).
  double last_grad_norm() const { return last_grad_norm_; }

  // State buffers in use (e.g. "momentum"; "exp_avg", "exp_avg_sq"[, "max_exp_avg_sq"];
  // "square_avg"[, "grad_avg"][, "momentum"]) as deep copies; empty before the first step.
  OptimizerState state() const;
  // Restores state() output and the step count. Validates names, dtype and sizes and throws
  // Error naming the mismatch. An empty `state` with steps == 0 resets the optimizer.
  void load_state(const OptimizerState& state, std::int64_t steps);
  // The buffer names this optimizer keeps, in state() order.
  const std::vector<std::string>& state_names() const { return buffer_names_; }

 protected:
  // One trainable slot handed to the update hook. The effective gradient of element i is
  // grad_scale*grad[i] + weight_decay*param[i] + l1*sign(param[i]) (see src/optim/common.h);
  // weight_decay and l1 are already zero on slots with decay=false.
  struct SlotUpdate {
    float* param = nullptr;
    const float* grad = nullptr;
    std::int64_t offset = 0;  // into the state buffers
    std::int64_t numel = 0;
    float grad_scale = 1;
    float weight_decay = 0;
    float l1 = 0;
    bool decay = true;         // the slot's ParamSlot::decay (for decoupled decay, AdamW)
    double lr_multiplier = 1;  // the slot's ParamSlot::lr_multiplier: its rate is lr() times this
  };

  Optimizer(double lr, const Regularization& reg, std::vector<std::string> buffer_names);

  // Called once per step after steps() has been advanced to the step being taken (1-based).
  virtual void begin_step() {}
  // Updates one slot; must not allocate. Runs on the calling thread and may open an OpenMP loop.
  virtual void update(const SlotUpdate& slot) = 0;
  // Buffer k (in buffer_names order), P floats.
  float* buffer(std::size_t k) const { return buffers_[k].data<float>(); }

 private:
  double lr_;
  Regularization reg_;
  std::vector<std::string> buffer_names_;
  std::vector<Tensor> buffers_;  // empty until the first step (or load_state)
  std::int64_t steps_ = 0;
  double last_grad_norm_ = 0;
  // Scratch reused across steps for the deterministic norm: chunks and their partial sums.
  std::vector<std::pair<std::int64_t, std::int64_t>> chunks_;
  std::vector<double> partials_;

  double global_grad_norm(const ParamBlock& block);
};

struct SGDOptions {
  double lr = 0.01;
  double momentum = 0;
  double dampening = 0;
  bool nesterov = false;
  Regularization reg;
};

struct AdamOptions {
  double lr = 1e-3;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  bool amsgrad = false;
  Regularization reg;
};

// AdamW: decoupled weight decay (w -= lr * weight_decay * w before the Adam step), with
// PyTorch's default weight_decay = 1e-2. l1 and clip_norm act as in Regularization.
struct AdamWOptions {
  double lr = 1e-3;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  bool amsgrad = false;
  double weight_decay = 1e-2;
  double l1 = 0;
  double clip_norm = 0;
};

struct RMSpropOptions {
  double lr = 1e-2;
  double alpha = 0.99;
  double eps = 1e-8;
  double momentum = 0;
  bool centered = false;
  Regularization reg;
};

// Each factory validates its options and throws Error naming the field and the value
// (lr <= 0, momentum < 0, beta/alpha outside [0, 1), eps <= 0, nesterov without momentum, ...).
std::unique_ptr<Optimizer> make_sgd(const SGDOptions& options);
std::unique_ptr<Optimizer> make_adam(const AdamOptions& options);
std::unique_ptr<Optimizer> make_adamw(const AdamWOptions& options);
std::unique_ptr<Optimizer> make_rmsprop(const RMSpropOptions& options);

// Options from a config as key/value pairs; keys are the option field names ("lr",
// "momentum", "nesterov", "beta1", "weight_decay", "l1", "clip_norm", ...), booleans are 0 or 1.
using OptionList = std::vector<std::pair<std::string, double>>;

// By name ("sgd", "adam", "adamw", "rmsprop"). Unknown names or keys, repeated keys and
// out-of-range values throw Error naming the key and the value.
std::unique_ptr<Optimizer> make_optimizer(std::string_view name, const OptionList& options = {});

}  // namespace convkit::optim
