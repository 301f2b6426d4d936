// Predictor: inference without a trainer or an optimizer. It holds a model, the preprocessing
// its inputs need and its class names, and compiles one inference plan per batch size on first
// use (kept for later calls). It predicts from preprocessed tensors, from decoded images of any
// size and channel count (converted to the model's input like `convkit predict` does), from
// encoded image bytes (PNG, PGM/PPM) and over whole datasets (eval, reports, TTA, ensembles).
//
//   train::Predictor predictor(std::move(model), {.mean = {0.1307f}, .std = {0.3081f}}, names);
//   Tensor p = predictor.predict_encoded(png_bytes);       // [1, K] class probabilities
//   auto best = train::top_k(p, 0, 3);                      // {class, probability} x 3
#pragma once

#include <convkit/data/dataset.h>
#include <convkit/data/geometry.h>
#include <convkit/nn/model.h>
#include <convkit/train/metrics.h>
#include <convkit/train/preprocess.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace convkit::train {

struct PredictorOptions {
  std::int64_t batch_size = 256;  // largest batch one plan runs (its activations are kept)
  std::string backend = "cpu";
  // How decoded images of another size become inputs (predict_images, predict_encoded): the
  // training run's resize policy (data/geometry.h; its size is the model's input). Absent:
  // stretched with bilinear interpolation (data::fit_image).
  std::optional<data::Geometry> geometry;
  // Decoded images keep their own size (channels still converted): models that end in global
  // pooling take any size, one plan per input shape.
  bool keep_size = false;
};

// One class of a prediction.
struct ClassScore {
  int index = 0;
  std::string label;  // the class name when known, else the index as text
  float probability = 0;
};

class Predictor {
 public:
  // Owns `model`.
  Predictor(nn::Model model, Preprocess preprocess, std::vector<std::string> class_names = {},
            PredictorOptions options = {});
  // Uses `model` in place (it must outlive the predictor): weights changed later, e.g. by
  // training or weight averaging, are what the next prediction sees.
  static Predictor borrowing(nn::Model& model, Preprocess preprocess,
                             std::vector<std::string> class_names = {},
                             PredictorOptions options = {});
  ~Predictor();
  Predictor(Predictor&&) noexcept;
  Predictor& operator=(Predictor&&) noexcept;

  // Class probabilities [N, K] of preprocessed f32 images [N, C, H, W]. H and W may differ from
  // the model's input when the model allows (Model::compile_inference's input_shape): one plan
  // per batch size and input shape, compiled on first use and kept.
  Tensor predict(const Tensor& inputs);
  // Class probabilities [N, K] of decoded u8 images [C', H', W'] of any size and channel count:
  // each is converted to the model's input (data::fit_image) and preprocessed.
  Tensor predict_images(std::span<const Tensor> images);
  // The same from an encoded image (PNG, PGM or PPM bytes); `source` names it in errors.
  Tensor predict_encoded(std::span<const std::byte> bytes, const std::string& source = "image");
  // Class probabilities [N, K] of every sample of `dataset` (in order). `transform`, when given,
  // edits each preprocessed f32 batch [B, C, H, W] in place first (test-time augmentation).
  Tensor predict(const data::Dataset& dataset,
                 const std::function<void(const Tensor&)>& transform = {});
  // Loss (mean cross-entropy), accuracy, per-class scores and the confusion matrix.
  ClassificationReport evaluate(const data::Dataset& dataset);
  // The same, adding the dataset's counts to `metrics` (data-parallel shards merge them).
  void evaluate_into(const data::Dataset& dataset, MetricAccumulator& metrics);

  // u8 [C', H', W'] of any size -> the model's f32 input [C, H, W] (the geometry or fit_image,
  // then preprocess); with keep_size, [C, H', W'].
  Tensor prepare(const Tensor& image) const;

  nn::Model& model() { return *model_; }
  const Preprocess& preprocess() const { return preprocess_; }
  const std::vector<std::string>& class_names() const { return class_names_; }
  Shape input_shape() const;  // per sample, e.g. [1, 28, 28]
  std::size_t cached_plans() const { return plans_.size(); }

 private:
  Predictor(std::unique_ptr<nn::Model> owned, nn::Model* model, Preprocess preprocess,
            std::vector<std::string> class_names, PredictorOptions options);
  nn::Plan& plan_for(std::int64_t batch, const Shape& sample);
  template <typename Fn>
  void for_each_batch(const data::Dataset& dataset, Fn&& fn);

  std::unique_ptr<nn::Model> owned_;
  nn::Model* model_ = nullptr;
  Preprocess preprocess_;
  std::vector<std::string> class_names_;
  PredictorOptions options_;
  std::map<std::pair<std::int64_t, std::vector<std::int64_t>>, nn::Plan> plans_;
};

// The k most probable classes of row `row` of probabilities [N, K], most probable first.
std::vector<ClassScore> top_k(const Tensor& probabilities, std::int64_t row, int k,
                              const std::vector<std::string>& class_names = {});

// Mean softmax cross-entropy and probabilities of logit rows (in double, then rounded).
void softmax_rows(const float* logits, float* probabilities, std::int64_t rows,
                  std::int64_t classes);

}  // namespace convkit::train
