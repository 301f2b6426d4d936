// Model: a built network (sequential or functional) with its parameters, and Plan: the model
// compiled for one batch size — the object a training loop drives.
//
//   auto model = nn::sequential({1, 28, 28}, {
//       nn::Conv2D{.filters = 32, .activation = nn::Activation::ReLU},
//       nn::MaxPool2D{}, nn::Flatten{}, nn::Dense{.units = 10}});
//   model.initialize(42);
//   auto plan = model.compile_training({.batch = 64});
//   auto adam = optim::make_adam({.lr = 1e-3});
//   plan.input().copy_from(images); plan.labels().copy_from(labels);
//   plan.forward(); plan.backward();          // loss, then gradients (train::train_step does
//   adam->step(plan.parameter_block());       // all three; see train/step.h)
#pragma once

#include <convkit/nn/layers.h>
#include <convkit/nn/value.h>
#include <convkit/tensor/param_block.h>
#include <convkit/tensor/tensor.h>

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace convkit::nn {

namespace detail {
struct ModelState;
}
class Plan;
class ModelAccess;

// Any layer struct (anything callable as Value(const Value&)), type-erased for sequential().
class Layer {
 public:
  template <typename L>
  requires requires(const L& l, const Value& v) {
    { l(v) } -> std::convertible_to<Value>;
  }
  Layer(L layer)  // NOLINT(google-explicit-constructor): sequential({nn::Dense{...}, ...})
      : apply_([layer = std::move(layer)](const Value& x) { return layer(x); }) {}
  Value operator()(const Value& x) const { return apply_(x); }

 private:
  std::function<Value(const Value&)> apply_;
};

struct TrainingOptions {
  std::int64_t batch = 32;
  double label_smoothing = 0.0;       // softmax cross-entropy loss options
  std::vector<double> class_weights;  // empty = unweighted
  std::string backend = "cpu";        // "cpu" (oneDNN) or "reference"
  bool fuse = true;                   // fold activations into conv/dense/bn/max-pool; views
  bool blocked_layouts = true;  // nChw16c activations between kernels that take it (false: NCHW)
  bool soft_targets = false;    // labels() is f32 [N, K] class probabilities (mixup, cutmix)
  int threads = 0;              // OpenMP threads: 0 = the caller's setting; see Plan::set_threads
  // Synchronised batch norm in data-parallel training: sums each BatchNorm's per-channel
  // statistics over every rank in place (forward: sums of x, x^2 and the count; backward: the
  // sums its input gradient needs), so all ranks normalize with the global batch's statistics.
  // Empty: each process uses its own batch.
  std::function<void(std::span<double>)> batch_sums;
};

struct InferenceOptions {
  std::int64_t batch = 1;
  std::string backend = "cpu";
  bool fuse = true;
  bool blocked_layouts = true;
  // OpenMP threads: 0 = automatic (one thread when a call is under 2 MFLOP, where forking
  // threads costs more than the work, e.g. LeNet-5 at batch 1; else the caller's setting).
  int threads = 0;
  // The per-sample input shape to compile for, when not the model's own (e.g. [3, 120, 120]
  // for a [3, 64, 64] model): models whose parameters do not depend on it (global pooling
  // before the Dense layers) run on any size; others are a ShapeError naming the layer.
  std::optional<Shape> input_shape;
};

class Model {
 public:
  Model(const Value& input, const Value& output);
  Model(const std::vector<Value>& inputs, const std::vector<Value>& outputs);
  ~Model();
  Model(const Model&);  // shares the graph; parameters are deep-copied
  Model& operator=(const Model&);
  Model(Model&&) noexcept;
  Model& operator=(Model&&) noexcept;

  // Initializes every parameter from its initializer with streams derived from `seed`; the
  // seed also drives dropout in plans compiled later.
  void initialize(std::uint64_t seed);
  std::uint64_t seed() const;

  // The layer table: name (type), output shape, parameters, forward FLOPs per sample.
  std::string summary() const;
  std::int64_t parameter_count() const;            // trainable params, buffers excluded
  std::int64_t trainable_parameter_count() const;  // excluding frozen layers
  double flops_per_sample() const;

  std::vector<std::string> layer_names() const;
  Shape input_shape(int i = 0) const;   // per sample, e.g. [1, 28, 28]
  Shape output_shape(int i = 0) const;  // per sample, e.g. [10]
  // Parameter groups for fine-tuning. `layers` is a layer name or a glob over layer names
  // ("*" any run of characters, "?" one: "block1_*", "*"); throws Error when nothing matches.
  // Both are model state, saved in the model spec (checkpoints) with the layer.
  // set_trainable freezes/unfreezes (no weight gradients, the optimizer skips the parameters);
  // it takes effect in plans compiled afterwards.
  void set_trainable(std::string_view layers, bool trainable);
  // The layers' parameters train at the optimizer's lr times `multiplier` (>= 0, finite; 1 by
  // default; 0 keeps them fixed while their optimizer state advances). Takes effect at the next
  // optimizer step, in plans compiled before too.
  void set_lr_multiplier(std::string_view layers, double multiplier);
  bool trainable(std::string_view layer) const;  // one layer by name
  double lr_multiplier(std::string_view layer) const;
  std::vector<std::string> parameter_names() const;  // "conv2d.weight", ..., buffers included
  Tensor parameter(std::string_view name) const;     // a view: writes change the model
  ParamBlock parameter_block() const;  // for optimizers; slots in parameter_names() order

  Plan compile_training(const TrainingOptions& options) const;
  Plan compile_inference(const InferenceOptions& options) const;

 private:
  friend class ModelAccess;  // the graph and parameter store for io/ and tests (nn/model_access.h)
  explicit Model(std::shared_ptr<detail::ModelState> state) : state_(std::move(state)) {}
  std::shared_ptr<detail::ModelState> state_;
};

// Builds a sequential model: layers applied one after another to an input of `input_shape`.
Model sequential(const Shape& input_shape, std::initializer_list<Layer> layers);
Model sequential(const Shape& input_shape, const std::vector<Layer>& layers);

// A model compiled for one batch size. Training plans take images and integer labels and
// output {loss [1], logits [N, K]}; inference plans output the model's outputs.
class Plan {
 public:
  ~Plan();
  Plan(Plan&&) noexcept;
  Plan& operator=(Plan&&) noexcept;

  Tensor input(int i = 0) const;  // write the batch here ([N, C, H, W] f32)
  Tensor labels() const;  // training plans: [N] i32 class indices, or [N, K] f32 soft targets
  Tensor output(int i = 0) const;  // inference: model output i; training: the logits
  std::int64_t batch() const;
  // The step counter that seeds dropout masks (advanced by every training forward); set it
  // when resuming so the masks continue exactly.
  std::uint64_t step() const;
  void set_step(std::uint64_t step);

  // The training step as parts (train::train_step runs all three):
  //   forward();                                   // the loss and the logits
  //   backward();                                  // gradients into parameter_block().grads
  //   optimizer.step(plan.parameter_block());      // the update, on the gradients as they are
  // Between backward and the update a distributed run all-reduces the gradients (or overlaps
  // that with backward, from the gradient-ready hook).
  void forward();
  void backward();
  float loss() const;  // training plans, after forward()
  // The model's parameters and gradients this plan reads and writes (shared with the Model).
  ParamBlock parameter_block() const;
  // Training plans: `hook` runs during every backward() as soon as a layer's parameter gradients
  // are final: layers in reverse topological order, each trainable parameter once per backward,
  // frozen layers and buffers never (GradientReady names the slots and their gradient range).
  // It runs on the thread calling backward(); what it throws leaves backward() (the layers
  // below then have no new gradients). An empty hook removes it; with none set, backward() pays
  // one branch per layer.
  void set_gradient_ready_hook(GradientReadyHook hook);

  std::size_t memory_bytes() const;     // the planned activation/gradient arena
  std::size_t unplanned_bytes() const;  // what the same buffers would take without reuse
  std::string describe() const;         // one line per step: node, op, kernel, output layout
  int threads() const;                  // OpenMP threads it runs on; 0 = the caller's setting
  // Between steps: run on `threads` (> 0) threads from now on (kernels rebuilt for that count,
  // kept for switching back; memory and state stay). False, and nothing changed, where the
  // rebuilt kernels would not fit the plan's memory.
  bool set_threads(int threads);
  // Per-layer timing: turn on, run some steps, read the table (forward/backward ms per layer).
  void set_profiling(bool on);
  std::string profile_report() const;

 private:
  friend class Model;
  struct Impl;
  explicit Plan(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace convkit::nn
