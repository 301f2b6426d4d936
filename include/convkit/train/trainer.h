// Trainer: fit / evaluate / predict over datasets — the Keras-style loop on top of compiled
// plans. fit() compiles one training plan (batch_size) and one inference plan (eval batch),
// streams batches from a background Loader, updates the learning rate from the schedule each
// step, keeps per-epoch history and calls callbacks (checkpoints, early stopping, logging).
#pragma once

#include <convkit/data/augment.h>
#include <convkit/data/dataset.h>
#include <convkit/dist/gradient_reducer.h>
#include <convkit/dist/process_group.h>
#include <convkit/nn/model.h>
#include <convkit/optim/optimizer.h>
#include <convkit/optim/schedule.h>
#include <convkit/train/feature_cache.h>
#include <convkit/train/metrics.h>
#include <convkit/train/predictor.h>
#include <convkit/train/preprocess.h>
#include <convkit/train/weight_average.h>

#include <cmath>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace convkit::train {

struct EpochLog {
  int epoch = 0;  // 1-based
  double loss = 0, accuracy = 0;
  double val_loss = NAN, val_accuracy = NAN;
  double val_top5 = NAN, val_macro_f1 = NAN;
  double lr = 0;  // at the end of the epoch
  double seconds = 0;
  double images_per_second = 0;
};

struct History {
  std::vector<EpochLog> epochs;
  std::string to_csv() const;  // epoch,loss,accuracy,val_loss,val_accuracy,val_top5,val_macro_f1,lr
};

struct FitOptions {
  int epochs = 10;
  std::int64_t batch_size = 128;
  std::int64_t eval_batch_size = 256;
  std::uint64_t seed = 42;  // shuffling (initialization and dropout use the model's seed)
  optim::ScheduleOptions schedule;
  double label_smoothing = 0;
  std::vector<double> class_weights;
  std::string backend = "cpu";
  Preprocess preprocess;
  data::AugmentOptions augment;  // applied to training batches in the loader's worker thread
  // Exponential moving average of the weights (weight_average.h); 0 = off, typical 0.999.
  // Validation, checkpoints and the model after fit() then use the averaged weights.
  double ema_decay = 0;
  bool progress = true;  // a progress bar on a terminal, plain lines every few seconds otherwise
  // OpenMP threads of the training steps. 0: share the CPUs (train/thread_share.h): up to
  // omp_get_max_threads(), one per CPU other processes leave free, measured while training and
  // re-tried when they may have left; each change is noted in the progress output. n > 0:
  // exactly n threads.
  int threads = 0;
  // Reading the training samples (data/loader.h): worker threads, the sample geometry (required
  // for sources whose images differ in size; its random_crop applies to training batches only),
  // and whether unreadable files are skipped (each named once on stderr) or end the fit with
  // their path.
  int loader_workers = 1;
  std::optional<data::Geometry> geometry;
  bool skip_unreadable = false;
  // Called before every epoch (with the number of completed epochs, also for a resumed one);
  // returning true says it changed what trains (Model::set_trainable: fine-tuning phases), and
  // fit() recompiles the training plan before the epoch's first step.
  std::function<bool(int completed_epochs, nn::Model& model)> before_epoch;
  // A frozen base and the head that trains on its cached outputs (feature_cache.h); the model
  // given to the Trainer is base + head, and what validation, checkpoints and predict use.
  std::shared_ptr<FrozenBase> frozen_base;
  // Data-parallel training (dist/): this process is one rank of `process_group` (size > 1).
  // batch_size stays the global batch: each rank trains on batch_size / size samples of every
  // global batch (its shard, data::LoaderOptions::shard), the gradients are averaged over all
  // ranks during backward (dist::GradientReducer, buckets of bucket_floats values), and the
  // loss, accuracy, divergence check and interruption are the job's, so every rank decides
  // alike; the weights start from rank 0's and are re-synchronised from it after every epoch
  // (batch-norm statistics included). Only rank 0 shows progress.
  std::shared_ptr<dist::ProcessGroup> process_group;
  std::int64_t bucket_floats = 1 << 18;
  bool overlap_all_reduce = true;  // false: all-reduce after backward (to measure the overlap)
  // Synchronised batch norm: every BatchNorm normalizes with the statistics of the global batch
  // (sums all-reduced in forward and backward), so N ranks train as one process would.
  bool sync_batch_norm = false;
};

class Trainer;

// When fit() calls a run diverged: a loss that is not finite, or one above kFactor x max(1, the
// loss of the fit's first step), which is measured before that fit has updated anything.
// Cross-entropy starts near ln(classes) (2.3 for 10), so the bound is 230 there: an explosion,
// not noise (lr = 1e6 reached 1.8e19; healthy runs stay below a few units).
class DivergenceCheck {
 public:
  static constexpr double kFactor = 100;
  bool diverged(double loss);  // feeds one step's loss
  std::string rule() const;    // the rule that applies now, for the message
 private:
  double threshold() const;
  double reference_ = 0;
  bool started_ = false;
};

// Hooks into fit(). Implementations may call trainer.request_stop() or set_lr_scale(). A
// callback with state (counters, best values) saves it in state_json() so a resumed run
// continues exactly.
class Callback {
 public:
  virtual ~Callback() = default;
  virtual std::string name() const { return "callback"; }
  virtual void on_train_begin(Trainer&) {}
  virtual void on_epoch_end(Trainer&, const EpochLog&) {}
  virtual void on_train_end(Trainer&, const History&) {}
  // SIGINT/SIGTERM arrived: fit() returns after this (checkpoint here).
  virtual void on_interrupt(Trainer&) {}
  virtual std::string state_json() const { return "{}"; }
  virtual void load_state_json(const std::string& /*json*/) {}
};

// Where a run stands: enough to continue it exactly, mid-epoch included (saved in checkpoints).
struct TrainerState {
  int epoch = 0;           // completed epochs
  std::int64_t step = 0;   // completed optimizer steps
  std::int64_t batch = 0;  // completed batches of the unfinished epoch
  double epoch_loss_sum = 0;
  std::int64_t epoch_correct = 0, epoch_seen = 0;
  double epoch_seconds = 0;
  double lr_scale = 1.0;  // ReduceLROnPlateau's factor on top of the schedule
  double train_seconds = 0;
  int world_size = 1;  // ranks of the data-parallel job that trained it
  History history;

  std::string to_json() const;
  static TrainerState from_json(const std::string& json, const std::string& source);
};

// SIGINT/SIGTERM handlers that ask a running fit() to checkpoint and return (a second signal
// kills as usual). interrupted_by() is the signal number, 0 when none arrived.
void install_interrupt_handlers();
int interrupted_by();

class Trainer {
 public:
  Trainer(nn::Model& model, optim::Optimizer& optimizer, FitOptions options);
  ~Trainer();

  // Trains for options.epochs (from the current epoch on: a resumed trainer continues).
  const History& fit(const data::Dataset& train, const data::Dataset* validation,
                     const std::vector<Callback*>& callbacks = {});
  // The same from any source (image files streamed from disk, decoded in the loader's workers).
  const History& fit(std::shared_ptr<const data::Source> train, const data::Dataset* validation,
                     const std::vector<Callback*>& callbacks = {});
  // Loss, accuracy, per-class scores and the confusion matrix (through predictor()).
  ClassificationReport evaluate(const data::Dataset& dataset);
  // Class probabilities [N, K] for every sample; `transform` (optional) edits each preprocessed
  // f32 batch [B, C, H, W] first (test-time augmentation).
  Tensor predict(const data::Dataset& dataset,
                 const std::function<void(const Tensor&)>& transform = {});
  // Class probabilities for already-preprocessed f32 images [N, C, H, W].
  Tensor predict_images(const Tensor& images);
  // Inference on the trained model in place (eval batch size, the fit options' preprocessing);
  // its plans are compiled once and reused by every validation pass.
  Predictor& predictor();

  void request_stop() { stop_ = true; }
  bool interrupted() const { return interrupted_; }  // fit() returned because of a signal
  int epoch() const { return state_.epoch; }         // completed epochs
  std::int64_t step() const { return state_.step; }  // completed optimizer steps
  const TrainerState& state() const { return state_; }
  void set_state(TrainerState state) { state_ = std::move(state); }  // resume
  const History& history() const { return state_.history; }
  double lr_scale() const { return state_.lr_scale; }
  void set_lr_scale(double scale) { state_.lr_scale = scale; }
  double current_lr() const { return optimizer_.lr(); }
  nn::Model& model() { return model_; }
  optim::Optimizer& optimizer() { return optimizer_; }
  const FitOptions& options() const { return options_; }
  double train_seconds() const { return state_.train_seconds; }
  // Data-parallel runs: the all-reduce figures of the last fit() (zero otherwise).
  const dist::ReducerStats& communication() const { return communication_; }

  // Weight averaging (FitOptions::ema_decay > 0).
  bool averages_weights() const { return average_.enabled(); }
  // Runs fn with the averaged weights in the model, passing a view of the weights the optimizer
  // moves (flat f32 [P]; undefined when not averaging, and then fn runs on the model as it is).
  void with_averaged_weights(const std::function<void(const Tensor& training_weights)>& fn);
  // Resuming: the model holds the averaged weights of a checkpoint and `training_weights` the
  // weights training continues from (the checkpoint's training_weights).
  void resume_averaging(const Tensor& training_weights);

 private:
  nn::Model& model_;
  optim::Optimizer& optimizer_;
  FitOptions options_;
  TrainerState state_;
  bool stop_ = false;
  bool interrupted_ = false;
  double base_lr_;
  WeightAverage average_;
  bool average_in_model_ = false;  // after fit(): the model holds the average, average_ the weights
  std::optional<Predictor> predictor_;
  dist::ReducerStats communication_;
};

}  // namespace convkit::train
