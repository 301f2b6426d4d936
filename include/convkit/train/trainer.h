// Trainer: fit / evaluate / predict over datasets — the Keras-style loop on top of compiled
// plans. fit() compiles one training plan (batch_size) and one inference plan (eval batch),
// streams batches from a background Loader, updates the learning rate from the schedule each
// step, keeps per-epoch history and calls callbacks (checkpoints, early stopping, logging).
#pragma once

#include <convkit/data/dataset.h>
#include <convkit/nn/model.h>
#include <convkit/optim/optimizer.h>
#include <convkit/optim/schedule.h>
#include <convkit/train/metrics.h>

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

namespace convkit::train {

struct EpochLog {
  int epoch = 0;  // 1-based
  double loss = 0, accuracy = 0;
  double val_loss = NAN, val_accuracy = NAN;
  double lr = 0;  // at the end of the epoch
  double seconds = 0;
  double images_per_second = 0;
};

struct History {
  std::vector<EpochLog> epochs;
  std::string to_csv() const;  // epoch,loss,accuracy,val_loss,val_accuracy,lr (no timings)
};

// How images are turned into model inputs: x = (pixel/255 - mean[c]) / std[c].
struct Preprocess {
  std::vector<float> mean{0.0f};
  std::vector<float> std{1.0f};
};

struct FitOptions {
  int epochs = 10;
  std::int64_t batch_size = 128;
  std::int64_t eval_batch_size = 1000;
  std::uint64_t seed = 42;  // shuffling (initialization and dropout use the model's seed)
  optim::ScheduleOptions schedule;
  double label_smoothing = 0;
  std::vector<double> class_weights;
  std::string backend = "cpu";
  Preprocess preprocess;
  bool progress = true;  // a progress bar on a terminal, one line per epoch otherwise
};

class Trainer;

// Hooks into fit(). Implementations may call trainer.request_stop().
class Callback {
 public:
  virtual ~Callback() = default;
  virtual void on_train_begin(Trainer&) {}
  virtual void on_epoch_end(Trainer&, const EpochLog&) {}
  virtual void on_train_end(Trainer&, const History&) {}
};

class Trainer {
 public:
  Trainer(nn::Model& model, optim::Optimizer& optimizer, FitOptions options);
  ~Trainer();

  // Trains for options.epochs (from the current epoch on: a resumed trainer continues).
  const History& fit(const data::Dataset& train, const data::Dataset* validation,
                     const std::vector<Callback*>& callbacks = {});
  // Loss, accuracy, per-class scores and the confusion matrix.
  ClassificationReport evaluate(const data::Dataset& dataset);
  // Class probabilities [N, K] for every sample.
  Tensor predict(const data::Dataset& dataset);
  // Class probabilities for already-preprocessed f32 images [N, C, H, W].
  Tensor predict_images(const Tensor& images);

  void request_stop() { stop_ = true; }
  int epoch() const { return epoch_; }              // completed epochs
  std::int64_t step() const { return step_; }       // completed optimizer steps
  void set_position(int epoch, std::int64_t step);  // resume
  const History& history() const { return history_; }
  void set_history(History history) { history_ = std::move(history); }
  nn::Model& model() { return model_; }
  optim::Optimizer& optimizer() { return optimizer_; }
  const FitOptions& options() const { return options_; }
  double train_seconds() const { return train_seconds_; }

 private:
  nn::Model& model_;
  optim::Optimizer& optimizer_;
  FitOptions options_;
  History history_;
  int epoch_ = 0;
  std::int64_t step_ = 0;
  bool stop_ = false;
  double base_lr_;
  double train_seconds_ = 0;
};

// Mean softmax cross-entropy and probabilities of logit rows (used by evaluate and predict).
void softmax_rows(const float* logits, float* probabilities, std::int64_t rows, std::int64_t classes);

}  // namespace convkit::train
