// The built-in callbacks: EarlyStopping, ReduceLROnPlateau and ModelCheckpoint (last, best by a
// metric, every N epochs, and on interruption), all resumable through state_json().
// A monitored metric is one of loss, accuracy, val_loss, val_accuracy; "min" mode for losses and
// "max" for accuracies unless `mode` says otherwise.
#pragma once

#include <convkit/train/trainer.h>

#include <filesystem>
#include <functional>
#include <string>
#include <vector>

namespace convkit::train {

struct Monitor {
  std::string metric = "val_loss";
  std::string mode = "auto";  // auto | min | max
  double min_delta = 0;       // smallest change that counts as an improvement

  void validate(const std::string& key) const;  // throws Error naming `key`
  double value(const EpochLog& log) const;      // throws when the metric is missing (NaN)
  bool improved(double value, double best) const;
  double worst() const;  // the starting "best"
};

struct EarlyStoppingOptions {
  Monitor monitor;
  int patience = 5;  // epochs without improvement before stopping
  bool restore_best_weights = true;
};

// Stops training when the monitored metric stops improving; optionally restores the weights of
// the best epoch at the end.
class EarlyStopping final : public Callback {
 public:
  explicit EarlyStopping(EarlyStoppingOptions options);
  std::string name() const override { return "early_stopping"; }
  void on_train_begin(Trainer& trainer) override;
  void on_epoch_end(Trainer& trainer, const EpochLog& log) override;
  void on_train_end(Trainer& trainer, const History& history) override;
  std::string state_json() const override;
  void load_state_json(const std::string& json) override;
  int stopped_epoch() const { return stopped_epoch_; }
  int best_epoch() const { return best_epoch_; }

 private:
  EarlyStoppingOptions o_;
  double best_;
  int best_epoch_ = 0, wait_ = 0, stopped_epoch_ = 0;
  std::vector<float> best_weights_;  // parameters and buffers at the best epoch
  void keep_weights(Trainer& trainer);
};

struct ReduceLROnPlateauOptions {
  Monitor monitor;
  double factor = 0.1;  // new rate = rate * factor
  int patience = 10;
  int cooldown = 0;  // epochs to wait after a reduction
  double min_lr = 0;
};

// Multiplies the learning rate (on top of the schedule) by `factor` when the metric plateaus.
class ReduceLROnPlateau final : public Callback {
 public:
  explicit ReduceLROnPlateau(ReduceLROnPlateauOptions options);
  std::string name() const override { return "reduce_lr_on_plateau"; }
  void on_train_begin(Trainer& trainer) override;
  void on_epoch_end(Trainer& trainer, const EpochLog& log) override;
  std::string state_json() const override;
  void load_state_json(const std::string& json) override;

 private:
  ReduceLROnPlateauOptions o_;
  double best_;
  int wait_ = 0, cooldown_left_ = 0;
};

struct ModelCheckpointOptions {
  std::filesystem::path directory;    // checkpoints/ of the run
  Monitor monitor{.metric = "loss"};  // what "best" means
  int every_n_epochs = 0;             // > 0: also keep epoch-<k>.ckpt every N epochs
  std::string extra_json = "{}";      // stored in every checkpoint (run info)
};

// Writes last.ckpt every epoch and on interruption (mid-epoch, resumable), best.ckpt when the
// monitored metric improves, and epoch-<k>.ckpt every N epochs. The checkpoints hold the model,
// the optimizer, the trainer's state and the state of every callback in `stateful`.
class ModelCheckpoint final : public Callback {
 public:
  ModelCheckpoint(ModelCheckpointOptions options, std::vector<Callback*> stateful);
  std::string name() const override { return "model_checkpoint"; }
  void on_train_begin(Trainer& trainer) override;
  void on_epoch_end(Trainer& trainer, const EpochLog& log) override;
  void on_interrupt(Trainer& trainer) override;
  std::string state_json() const override;
  void load_state_json(const std::string& json) override;
  int best_epoch() const { return best_epoch_; }

  // The JSON stored as the checkpoint's "rng" entry, and reading it back.
  static std::string resume_json(const Trainer& trainer, const std::vector<Callback*>& callbacks);
  static void restore(const std::string& resume_json, Trainer& trainer,
                      const std::vector<Callback*>& callbacks, const std::string& source);

 private:
  void save(Trainer& trainer, const std::filesystem::path& path);
  ModelCheckpointOptions o_;
  std::vector<Callback*> stateful_;
  double best_;
  int best_epoch_ = 0;
};

}  // namespace convkit::train
