// Predictor: cached inference plans over a model and its preprocessing (see predictor.h).
#include <convkit/train/predictor.h>

#include <convkit/data/image_file.h>
#include <convkit/data/loader.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>

namespace convkit::train {

namespace {

// Copies `rows` samples into a plan buffer of the full batch size, zeroing the rest.
void copy_rows(const Tensor& dst, const Tensor& src, std::int64_t rows) {
  const std::size_t row_bytes = dst.nbytes() / std::size_t(dst.dim(0));
  std::memcpy(dst.raw(), src.raw(), row_bytes * std::size_t(rows));
  std::memset(static_cast<std::byte*>(dst.raw()) + row_bytes * rows, 0,
              row_bytes * std::size_t(dst.dim(0) - rows));
}

}  // namespace

void softmax_rows(const float* logits, float* probabilities, std::int64_t rows, std::int64_t k) {
  for (std::int64_t i = 0; i < rows; ++i) {
    const float* z = logits + i * k;
    float* p = probabilities + i * k;
    const float m = *std::max_element(z, z + k);
    double sum = 0;
    for (std::int64_t c = 0; c < k; ++c) sum += std::exp(double(z[c] - m));
    for (std::int64_t c = 0; c < k; ++c) p[c] = float(std::exp(double(z[c] - m)) / sum);
  }
}

Predictor::Predictor(std::unique_ptr<nn::Model> owned, nn::Model* model, Preprocess preprocess,
                     std::vector<std::string> class_names, PredictorOptions options)
    : owned_(std::move(owned)),
      model_(owned_ ? owned_.get() : model),
      preprocess_(std::move(preprocess)),
      class_names_(std::move(class_names)),
      options_(std::move(options)) {
  if (options_.batch_size < 1)
    fail("predictor: batch_size must be >= 1, got {}", options_.batch_size);
  if (preprocess_.mean.empty() || preprocess_.mean.size() != preprocess_.std.size())
    fail(
        "predictor: preprocessing needs as many std as mean values (1 or one per channel), got {} "
        "and {}",
        preprocess_.mean.size(), preprocess_.std.size());
}

Predictor::Predictor(nn::Model model, Preprocess preprocess, std::vector<std::string> class_names,
                     PredictorOptions options)
    : Predictor(std::make_unique<nn::Model>(std::move(model)), nullptr, std::move(preprocess),
                std::move(class_names), std::move(options)) {}

Predictor Predictor::borrowing(nn::Model& model, Preprocess preprocess,
                               std::vector<std::string> class_names, PredictorOptions options) {
  return Predictor(nullptr, &model, std::move(preprocess), std::move(class_names),
                   std::move(options));
}

Predictor::~Predictor() = default;
Predictor::Predictor(Predictor&&) noexcept = default;
Predictor& Predictor::operator=(Predictor&&) noexcept = default;

Shape Predictor::input_shape() const {
  return model_->input_shape();
}

nn::Plan& Predictor::plan_for(std::int64_t batch, const Shape& sample) {
  const auto key = std::make_pair(batch, sample.dims());
  auto it = plans_.find(key);
  if (it == plans_.end()) {
    nn::InferenceOptions options{.batch = batch, .backend = options_.backend};
    if (sample != input_shape()) options.input_shape = sample;
    try {
      it = plans_.emplace(key, model_->compile_inference(options)).first;
    } catch (const ShapeError& e) {
      fail("predict: the model takes inputs {} per sample and cannot run on {}: {}",
           input_shape().str(), sample.str(), e.what());
    }
  }
  return it->second;
}

Tensor Predictor::predict(const Tensor& inputs) {
  const Shape sample = input_shape();
  if (inputs.dtype() != DType::f32 || inputs.rank() != sample.rank() + 1 || !inputs.is_contiguous())
    fail("predict: expected contiguous f32 [N, {}], got {} {}",
         sample.str().substr(1, sample.str().size() - 2), name_of(inputs.dtype()),
         inputs.shape().str());
  if (inputs.dim(1) != sample[0])
    fail("predict: the model takes inputs {} per sample, got {}", sample.str(),
         inputs.shape().str());
  const Shape given(
      std::vector<std::int64_t>(inputs.shape().dims().begin() + 1, inputs.shape().dims().end()));
  const std::int64_t n = inputs.dim(0);
  const std::int64_t batch = std::max<std::int64_t>(1, std::min(n, options_.batch_size));
  nn::Plan& plan = plan_for(batch, given);
  Tensor probabilities;
  for (std::int64_t start = 0; start < n; start += batch) {
    const std::int64_t rows = std::min(batch, n - start);
    copy_rows(plan.input(), inputs.slice(start, start + rows), rows);
    plan.forward();
    const Tensor logits = plan.output();
    if (!probabilities.defined()) probabilities = Tensor::empty({n, logits.dim(1)});
    softmax_rows(logits.data<float>(), probabilities.data<float>() + start * logits.dim(1), rows,
                 logits.dim(1));
  }
  return probabilities;
}

Tensor Predictor::prepare(const Tensor& image) const {
  const Shape sample = input_shape();
  if (sample.rank() != 3)
    fail("predict: an image model takes input [C, H, W], this one {}", sample.str());
  if (image.dtype() != DType::u8 || image.rank() != 3)
    fail("predict: expected a decoded u8 image [C, H, W], got {} {}", name_of(image.dtype()),
         image.shape().str());
  Tensor fitted;
  if (options_.keep_size) {
    fitted = data::fit_image(image, sample[0], image.dim(1), image.dim(2));
  } else if (options_.geometry) {
    data::Geometry g = *options_.geometry;
    g.channels = sample[0], g.height = sample[1], g.width = sample[2];
    g.random_crop.enabled = false;
    fitted = Tensor::empty(g.shape(), DType::u8);
    data::GeometryScratch scratch;
    data::prepare_image(image, g, fitted, scratch);
  } else {
    fitted = data::fit_image(image, sample[0], sample[1], sample[2]);
  }
  const Shape shape = fitted.shape();
  Tensor out = Tensor::empty(shape);
  preprocess_.apply(fitted.reshape({1, shape[0], shape[1], shape[2]}),
                    out.reshape({1, shape[0], shape[1], shape[2]}));
  return out;
}

Tensor Predictor::predict_images(std::span<const Tensor> images) {
  const Shape sample = input_shape();
  if (images.empty()) fail("predict: no images given");
  if (options_.keep_size) {  // each image at its own size (one plan per shape)
    Tensor out;
    for (std::size_t i = 0; i < images.size(); ++i) {
      const Tensor x = prepare(images[i]);
      const Tensor p = predict(x.reshape({1, x.dim(0), x.dim(1), x.dim(2)}));
      if (!out.defined()) out = Tensor::empty({std::int64_t(images.size()), p.dim(1)});
      out.slice(std::int64_t(i), std::int64_t(i) + 1).copy_from(p);
    }
    return out;
  }
  Tensor batch = Tensor::empty({std::int64_t(images.size()), sample[0], sample[1], sample[2]});
  for (std::size_t i = 0; i < images.size(); ++i)
    batch.slice(std::int64_t(i), std::int64_t(i) + 1).reshape(sample).copy_from(prepare(images[i]));
  return predict(batch);
}

Tensor Predictor::predict_encoded(std::span<const std::byte> bytes, const std::string& source) {
  const Tensor image = data::decode_image(bytes, source);
  return predict_images(std::span(&image, 1));
}

template <typename Fn>
void Predictor::for_each_batch(const data::Dataset& dataset, Fn&& fn) {
  const std::int64_t batch =
      std::min(options_.batch_size, std::max<std::int64_t>(dataset.size(), 1));
  nn::Plan& plan = plan_for(batch, {dataset.channels(), dataset.height(), dataset.width()});
  data::Loader loader(dataset, {.batch_size = batch,
                                .shuffle = false,
                                .drop_last = false,
                                .mean = preprocess_.mean,
                                .std = preprocess_.std});
  loader.start_epoch(0);
  while (auto b = loader.next()) {
    const std::int64_t rows = b->labels.numel();
    copy_rows(plan.input(), b->images, rows);
    fn(plan, *b, rows);
  }
}

Tensor Predictor::predict(const data::Dataset& dataset,
                          const std::function<void(const Tensor&)>& transform) {
  const std::int64_t k = dataset.num_classes;
  Tensor probabilities = Tensor::empty({dataset.size(), k});
  std::int64_t done = 0;
  for_each_batch(dataset, [&](nn::Plan& plan, const data::BatchView&, std::int64_t rows) {
    if (transform) transform(plan.input());
    plan.forward();
    const Tensor logits = plan.output();
    if (logits.rank() != 2 || logits.dim(1) != k)
      fail("the model outputs {} but the dataset has {} classes", logits.shape().str(), k);
    softmax_rows(logits.data<float>(), probabilities.data<float>() + done * k, rows, k);
    done += rows;
  });
  return probabilities;
}

ClassificationReport Predictor::evaluate(const data::Dataset& dataset) {
  MetricAccumulator metrics(dataset.num_classes, 5);
  evaluate_into(dataset, metrics);
  return metrics.report();
}

void Predictor::evaluate_into(const data::Dataset& dataset, MetricAccumulator& metrics) {
  const std::int64_t k = dataset.num_classes;
  for_each_batch(dataset, [&](nn::Plan& plan, const data::BatchView& b, std::int64_t rows) {
    plan.forward();
    const Tensor logits = plan.output();
    if (logits.rank() != 2 || logits.dim(1) != k)
      fail("the model outputs {} but the dataset has {} classes", logits.shape().str(), k);
    // Mean cross-entropy from the logits, in double.
    double loss = 0;
    const float* z = logits.data<float>();
    const std::int32_t* y = b.labels.data<std::int32_t>();
    for (std::int64_t i = 0; i < rows; ++i) {
      const float* row = z + i * k;
      const float m = *std::max_element(row, row + k);
      double sum = 0;
      for (std::int64_t c = 0; c < k; ++c) sum += std::exp(double(row[c] - m));
      loss += std::log(sum) + m - row[y[i]];
    }
    metrics.add(logits, b.labels, rows, loss);
  });
}

std::vector<ClassScore> top_k(const Tensor& probabilities, std::int64_t row, int k,
                              const std::vector<std::string>& class_names) {
  const std::int64_t classes = probabilities.dim(1);
  const float* p = probabilities.data<float>() + row * classes;
  const int top = std::clamp<int>(k, 0, int(classes));
  std::vector<int> order(static_cast<std::size_t>(classes));
  std::iota(order.begin(), order.end(), 0);
  std::partial_sort(order.begin(), order.begin() + top, order.end(),
                    [&](int a, int b) { return p[a] > p[b]; });
  std::vector<ClassScore> out;
  for (int r = 0; r < top; ++r) {
    const int c = order[std::size_t(r)];
    out.push_back(
        {c, c < int(class_names.size()) ? class_names[std::size_t(c)] : std::to_string(c), p[c]});
  }
  return out;
}

}  // namespace convkit::train
