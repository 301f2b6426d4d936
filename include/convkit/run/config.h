// RunConfig: a training run described in YAML (dataset, model, train sections), resolved from
// the defaults (examples/mnist_default.yaml, built in), the user's file and `--set key=value`
// overrides, then checked strictly: unknown keys and wrong types are ConfigErrors naming the key.
#pragma once

#include <convkit/data/augment.h>
#include <convkit/data/geometry.h>
#include <convkit/nn/model.h>
#include <convkit/nn/zoo.h>
#include <convkit/optim/optimizer.h>
#include <convkit/optim/schedule.h>
#include <convkit/train/callbacks.h>
#include <convkit/train/feature_cache.h>
#include <convkit/train/preprocess.h>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace convkit::run {

// The dataset keys about reading images (src/run/image_data_config.h lists them): where image
// files are, how each is brought to model.input's size, and how the loader reads them.
struct ImageDataConfig {
  std::string path;           // dataset.path: the folder or the training CSV (default: --data DIR)
  std::string test;           // dataset.test: a CSV test list
  std::string validation;     // dataset.validation: a CSV validation list
  double test_split = 0;      // a stratified test hold-out when the data has no test part
  data::Geometry geometry;    // channels, height, width from model.input
  bool resize_given = false;  // dataset.resize was set (also lets IDX/registry images be resized)
  int workers = 2;
  bool skip_bad_files = false;  // dataset.on_error: skip
  // dataset.cache: "" off; "auto" (true) the default place (data/decoded_cache.h); else a path.
  std::string cache;
};

// model.backbone: a pretrained network read from an ONNX file (io/onnx.h) as the model's base,
// with model.head's layers on top (transfer learning). Its preprocessing is part of it.
struct BackboneConfig {
  std::string onnx;             // the file, absolute
  std::string cut_at = "auto";  // node or tensor name; auto: the input of the last Gemm/MatMul
  bool freeze = true;           // the imported layers train or not (param_groups may unfreeze)
  bool bgr = false;             // channels: bgr (the file's model takes BGR images)
  // normalize: the input convention the weights were trained with; absent: the dataset's stats.
  std::optional<train::Preprocess> normalize;
  // cache_features: auto (when the base stays frozen and the images do not change between
  // epochs: no augmentation, mixup/cutmix, weight averaging or fine_tune), true (required: an
  // error when it cannot), false.
  std::string cache_features = "auto";
};

struct RunConfig {
  // dataset
  std::string dataset = "mnist";
  double validation_split = 0.0;
  std::int64_t train_samples = 0;  // > 0: a seeded random subset of the training set
  std::int64_t per_class = 0;      // dataset.per_class > 0: that many training images per class
  std::int64_t test_samples = 0;   // > 0: a seeded random subset of the test set
  data::AugmentOptions augment;    // dataset.augment
  ImageDataConfig images;          // dataset.path, resize, workers, on_error, ...
  // model: `layers` (nn::sequential over `input`), or `zoo: NAME` (nn::build_zoo_model, with
  // model.input, model.classes, and the options stem, classifier, zero_init_residual)
  Shape input;
  std::vector<nn::Layer> layers;  // with a backbone: model.head, applied to its features
  std::optional<nn::ZooOptions> zoo;
  std::optional<BackboneConfig> backbone;
  // train
  int epochs = 10;
  std::int64_t batch_size = 128;
  std::int64_t eval_batch_size = 256;
  std::uint64_t seed = 42;
  int threads = 0;  // 0: all cores
  std::string backend = "cpu";
  double label_smoothing = 0;
  double ema_decay = 0;  // train.ema_decay: weight averaging, 0 = off
  // train.distributed: the gradient all-reduce of data-parallel runs (bucket_mb, overlap).
  std::int64_t bucket_floats = 1 << 18;
  bool overlap_all_reduce = true;
  bool sync_batch_norm = false;  // train.distributed.sync_batch_norm
  // train.distributed.timeout_s: the longest a rank waits for the others in a collective.
  double distributed_timeout = 300;
  std::string test_tta =
      "none";               // train.test_tta: test-time augmentation of the final test evaluation
  bool tensorboard = true;  // write TensorBoard event files into the run directory
  // train.param_groups: [{layers: "conv*", trainable: false, lr_multiplier: 0.1}, ...], applied in
  // order by build_model() (Model::set_trainable / set_lr_multiplier: a layer name or a glob).
  struct ParamGroup {
    std::string layers;
    std::optional<bool> trainable;
    std::optional<double> lr_multiplier;
  };
  std::vector<ParamGroup> param_groups;
  // train.fine_tune: {epoch: k, unfreeze_from: LAYER, lr_multiplier: m}: after k epochs (the
  // head alone), the layers from LAYER on (in graph order) train too, at lr x m.
  struct FineTune {
    int epoch = 0;
    std::string unfreeze_from;
    double lr_multiplier = 1.0;
  };
  std::optional<FineTune> fine_tune;
  // The fine-tuning phase's change: unfreezes the layers from fine_tune->unfreeze_from on.
  void start_fine_tuning(nn::Model& model) const;
  std::string optimizer = "adam";
  optim::OptionList optimizer_options;
  optim::ScheduleOptions schedule;

  // callbacks
  bool early_stopping = false;
  train::EarlyStoppingOptions early_stopping_options;
  bool reduce_lr_on_plateau = false;
  train::ReduceLROnPlateauOptions reduce_lr_options;
  train::Monitor checkpoint_monitor;  // what best.ckpt means (default: val_accuracy or loss)
  int checkpoint_every_n_epochs = 0;

  std::string resolved_yaml;  // the merged document, written to the run directory as config.yaml
  nn::Model build_model() const;  // the layers, the zoo model or backbone + head; param_groups
  // model.initialize(seed), then the backbone's pretrained weights (when there is one) over it.
  void initialize_model(nn::Model& model) const;
  // With a backbone and cache_features: the frozen base and the head for the Trainer's feature
  // cache (train/feature_cache.h), or null with the reason in `why_not` (auto: train normally).
  std::shared_ptr<train::FrozenBase> frozen_base(const nn::Model& model,
                                                 std::string& why_not) const;

 private:
  mutable std::shared_ptr<const std::map<std::string, Tensor>> pretrained_;  // from build_model
};

// The built-in default config (examples/mnist_default.yaml).
const char* default_config_text();

// Loads `file` (or the default config when absent), applies `sets` ("train.epochs=3",
// "model.layers.0.filters=64"), and validates. Throws ConfigError (exit code 2).
RunConfig load_run_config(const std::optional<std::string>& file,
                          const std::vector<std::string>& sets);
// The same from YAML text (config.yaml of a run directory, or a checkpoint's stored config).
// Errors name `source`.
RunConfig parse_run_config(const std::string& yaml_text, const std::string& source,
                           const std::vector<std::string>& sets = {});

}  // namespace convkit::run
