// Trainer: the fit / evaluate / predict loops (see trainer.h).
#include <convkit/train/trainer.h>

#include <convkit/data/loader.h>
#include <convkit/train/progress.h>

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstring>

namespace convkit::train {

namespace {

data::LoaderOptions loader_options(const FitOptions& o, std::int64_t batch, bool shuffle, bool drop_last) {
  data::LoaderOptions l;
  l.batch_size = batch;
  l.shuffle = shuffle;
  l.seed = o.seed;
  l.drop_last = drop_last;
  l.mean = o.preprocess.mean;
  l.std = o.preprocess.std;
  return l;
}

// Counts argmax hits of logit rows against labels.
std::int64_t correct_predictions(const Tensor& logits, const Tensor& labels, std::int64_t rows) {
  const std::int64_t k = logits.dim(1);
  const float* z = logits.data<float>();
  const std::int32_t* y = labels.data<std::int32_t>();
  std::int64_t correct = 0;
  for (std::int64_t i = 0; i < rows; ++i) {
    const float* row = z + i * k;
    correct += (std::max_element(row, row + k) - row) == y[i];
  }
  return correct;
}

// Copies `rows` samples into a plan buffer of the full batch size, zeroing the rest.
void copy_rows(const Tensor& dst, const Tensor& src, std::int64_t rows) {
  const std::size_t row_bytes = dst.nbytes() / std::size_t(dst.dim(0));
  std::memcpy(dst.raw(), src.raw(), row_bytes * std::size_t(rows));
  std::memset(static_cast<std::byte*>(dst.raw()) + row_bytes * rows, 0, row_bytes * std::size_t(dst.dim(0) - rows));
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

std::string History::to_csv() const {
  // NOTE: no timings here, so the same seed on the same machine gives an identical file.
  auto cell = [](double v) { return std::isfinite(v) ? fmt::format("{:.6f}", v) : std::string(); };
  std::string out = "epoch,loss,accuracy,val_loss,val_accuracy,lr\n";
  for (const auto& e : epochs)
    out += fmt::format("{},{},{},{},{},{:.8g}\n", e.epoch, cell(e.loss), cell(e.accuracy), cell(e.val_loss),
                       cell(e.val_accuracy), e.lr);
  return out;
}

Trainer::Trainer(nn::Model& model, optim::Optimizer& optimizer, FitOptions options)
    : model_(model), optimizer_(optimizer), options_(std::move(options)), base_lr_(optimizer.lr()) {
  if (options_.epochs < 1) fail("train.epochs must be >= 1, got {}", options_.epochs);
  if (options_.batch_size < 1) fail("train.batch_size must be >= 1, got {}", options_.batch_size);
  optim::validate(options_.schedule);
}

Trainer::~Trainer() = default;

void Trainer::set_position(int epoch, std::int64_t step) {
  epoch_ = epoch;
  step_ = step;
}

const History& Trainer::fit(const data::Dataset& train, const data::Dataset* validation,
                            const std::vector<Callback*>& callbacks) {
  if (train.size() < options_.batch_size)
    fail("the training set has {} samples, fewer than one batch of {}", train.size(), options_.batch_size);
  nn::Plan plan = model_.compile_training({.batch = options_.batch_size,
                                           .label_smoothing = options_.label_smoothing,
                                           .class_weights = options_.class_weights,
                                           .backend = options_.backend});
  plan.set_step(std::uint64_t(step_));
  // NOTE: the last partial batch of an epoch is dropped (the plan has one batch size); with
  // per-epoch shuffling every sample is still seen.
  data::Loader loader(train, loader_options(options_, options_.batch_size, true, true));
  const std::int64_t steps_per_epoch = loader.batches_per_epoch();
  const std::int64_t total_steps = steps_per_epoch * options_.epochs;
  stop_ = false;
  for (auto* c : callbacks) c->on_train_begin(*this);
  while (epoch_ < options_.epochs && !stop_) {
    loader.start_epoch(epoch_);
    ProgressBar bar(fmt::format("epoch {}/{}", epoch_ + 1, options_.epochs), steps_per_epoch);
    const auto start = std::chrono::steady_clock::now();
    double loss_sum = 0;
    std::int64_t correct = 0, seen = 0, batches = 0;
    double lr = optimizer_.lr();
    while (auto batch = loader.next()) {
      lr = optim::learning_rate(options_.schedule, base_lr_, step_, steps_per_epoch, total_steps);
      optimizer_.set_lr(lr);
      plan.input().copy_from(batch->images);
      plan.labels().copy_from(batch->labels);
      const float loss = plan.train_step(optimizer_);
      if (!std::isfinite(loss))
        fail("training diverged: the loss became {} at epoch {}, step {} (learning rate {:g}); "
             "try a lower learning rate or gradient clipping",
             loss, epoch_ + 1, step_ + 1, lr);
      ++step_;
      ++batches;
      loss_sum += loss;
      correct += correct_predictions(plan.output(), batch->labels, batch->labels.numel());
      seen += batch->labels.numel();
      if (options_.progress)
        bar.update(batches, seen, {{"loss", loss_sum / double(batches)}, {"acc", double(correct) / double(seen)}});
    }
    ++epoch_;
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    train_seconds_ += seconds;
    EpochLog log{.epoch = epoch_, .loss = loss_sum / double(std::max<std::int64_t>(batches, 1)),
                 .accuracy = double(correct) / double(std::max<std::int64_t>(seen, 1)), .lr = lr,
                 .seconds = seconds, .images_per_second = double(seen) / std::max(seconds, 1e-9)};
    MetricList shown{{"loss", log.loss}, {"acc", log.accuracy}};
    if (validation && validation->size() > 0) {
      auto report = evaluate(*validation);
      log.val_loss = report.loss;
      log.val_accuracy = report.accuracy;
      shown.push_back({"val_loss", log.val_loss});
      shown.push_back({"val_acc", log.val_accuracy});
    }
    if (options_.progress) bar.finish(seen, shown);
    history_.epochs.push_back(log);
    for (auto* c : callbacks) c->on_epoch_end(*this, log);
  }
  for (auto* c : callbacks) c->on_train_end(*this, history_);
  return history_;
}

ClassificationReport Trainer::evaluate(const data::Dataset& dataset) {
  MetricAccumulator metrics(dataset.num_classes, 5);
  const std::int64_t batch = std::min(options_.eval_batch_size, std::max<std::int64_t>(dataset.size(), 1));
  nn::Plan plan = model_.compile_inference({.batch = batch, .backend = options_.backend});
  data::Loader loader(dataset, loader_options(options_, batch, false, false));
  loader.start_epoch(0);
  const std::int64_t k = dataset.num_classes;
  while (auto b = loader.next()) {
    const std::int64_t rows = b->labels.numel();
    copy_rows(plan.input(), b->images, rows);
    plan.forward();
    const Tensor logits = plan.output();
    if (logits.rank() != 2 || logits.dim(1) != k)
      fail("the model outputs {} but the dataset has {} classes", logits.shape().str(), k);
    // Mean cross-entropy from the logits, in double.
    double loss = 0;
    const float* z = logits.data<float>();
    const std::int32_t* y = b->labels.data<std::int32_t>();
    for (std::int64_t i = 0; i < rows; ++i) {
      const float* row = z + i * k;
      const float m = *std::max_element(row, row + k);
      double sum = 0;
      for (std::int64_t c = 0; c < k; ++c) sum += std::exp(double(row[c] - m));
      loss += std::log(sum) + m - row[y[i]];
    }
    metrics.add(logits, b->labels, rows, loss);
  }
  return metrics.report();
}

Tensor Trainer::predict(const data::Dataset& dataset) {
  const std::int64_t batch = std::min(options_.eval_batch_size, std::max<std::int64_t>(dataset.size(), 1));
  nn::Plan plan = model_.compile_inference({.batch = batch, .backend = options_.backend});
  data::Loader loader(dataset, loader_options(options_, batch, false, false));
  loader.start_epoch(0);
  Tensor probabilities = Tensor::empty({dataset.size(), dataset.num_classes});
  std::int64_t done = 0;
  while (auto b = loader.next()) {
    const std::int64_t rows = b->labels.numel();
    copy_rows(plan.input(), b->images, rows);
    plan.forward();
    softmax_rows(plan.output().data<float>(), probabilities.data<float>() + done * dataset.num_classes, rows,
                 dataset.num_classes);
    done += rows;
  }
  return probabilities;
}

Tensor Trainer::predict_images(const Tensor& images) {
  const std::int64_t n = images.dim(0);
  const std::int64_t batch = std::min<std::int64_t>(n, options_.eval_batch_size);
  nn::Plan plan = model_.compile_inference({.batch = batch, .backend = options_.backend});
  Tensor probabilities;
  for (std::int64_t start = 0; start < n; start += batch) {
    const std::int64_t rows = std::min(batch, n - start);
    copy_rows(plan.input(), images.slice(start, start + rows), rows);
    plan.forward();
    const Tensor logits = plan.output();
    if (!probabilities.defined()) probabilities = Tensor::empty({n, logits.dim(1)});
    softmax_rows(logits.data<float>(), probabilities.data<float>() + start * logits.dim(1), rows, logits.dim(1));
  }
  return probabilities;
}

}  // namespace convkit::train
