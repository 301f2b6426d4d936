// TensorBoard logging callback (see tensorboard_callback.h).
#include <convkit/train/tensorboard_callback.h>

#include <convkit/io/tensorboard.h>

#include <convkit/io/png_writer.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <span>
#include <vector>

namespace convkit::train {

TensorBoardCallback::TensorBoardCallback(std::filesystem::path dir, const data::Dataset* validation,
                                         TensorBoardOptions options)
    : dir_(std::move(dir)), options_(options) {
  if (options_.max_images < 0 || options_.image_pool < 0 || options_.image_columns < 1)
    fail("TensorBoardOptions: max_images and image_pool must be >= 0 and image_columns >= 1");
  if (options_.enabled && validation && validation->size() > 0 && options_.max_images > 0) {
    // NOTE: only the first image_pool samples are searched, so each epoch costs one small
    // forward pass rather than a second sweep over the whole validation set.
    std::vector<std::int64_t> first(std::size_t(std::min(validation->size(), options_.image_pool)));
    std::iota(first.begin(), first.end(), std::int64_t{0});
    if (!first.empty()) pool_ = validation->subset(first);
  }
}

TensorBoardCallback::~TensorBoardCallback() = default;

std::filesystem::path TensorBoardCallback::path() const {
  return writer_ ? writer_->path() : std::filesystem::path();
}

void TensorBoardCallback::on_train_begin(Trainer&) {
  if (options_.enabled && !writer_) writer_ = std::make_unique<io::EventWriter>(dir_);
}

void TensorBoardCallback::on_epoch_end(Trainer& trainer, const EpochLog& log) {
  if (!writer_) return;
  const std::int64_t step = log.epoch;
  writer_->add_scalar("loss", log.loss, step);
  writer_->add_scalar("accuracy", log.accuracy, step);
  if (std::isfinite(log.val_loss)) writer_->add_scalar("val_loss", log.val_loss, step);
  if (std::isfinite(log.val_accuracy)) writer_->add_scalar("val_accuracy", log.val_accuracy, step);
  writer_->add_scalar("lr", log.lr, step);
  writer_->add_scalar("images_per_second", log.images_per_second, step);
  if (options_.histograms) log_histograms(trainer, step);
  if (pool_.size() > 0) log_misclassified(trainer, step);
  writer_->flush();  // TensorBoard sees every finished epoch
}

void TensorBoardCallback::on_train_end(Trainer&, const History&) {
  if (writer_) writer_->flush();
}

void TensorBoardCallback::log_histograms(Trainer& trainer, std::int64_t step) {
  const ParamBlock block = trainer.model().parameter_block();
  for (const ParamSlot& slot : block.slots) {
    const auto n = std::size_t(slot.numel);
    writer_->add_histogram("weights/" + slot.name, std::span(block.params + slot.offset, n), step);
    // Frozen layers and buffers (running statistics) have no gradient.
    if (!slot.trainable) continue;
    writer_->add_histogram("gradients/" + slot.name, std::span(block.grads + slot.offset, n), step);
  }
}

void TensorBoardCallback::log_misclassified(Trainer& trainer, std::int64_t step) {
  const Tensor probabilities = trainer.predict(pool_);
  const std::int64_t n = pool_.size(), k = probabilities.dim(1);
  const float* p = probabilities.data<float>();
  const std::int32_t* labels = pool_.labels.data<std::int32_t>();
  std::vector<std::pair<float, std::int64_t>> wrong;  // (confidence of the wrong class, sample)
  for (std::int64_t i = 0; i < n; ++i) {
    const float* row = p + i * k;
    const std::int64_t predicted = std::max_element(row, row + k) - row;
    if (predicted != labels[i]) wrong.emplace_back(row[predicted], i);
  }
  if (wrong.empty()) return;
  const std::size_t count = std::min(wrong.size(), std::size_t(options_.max_images));
  // Most confident first; ties by sample index, so the grid is deterministic.
  std::partial_sort(wrong.begin(), wrong.begin() + std::ptrdiff_t(count), wrong.end(),
                    [](const auto& a, const auto& b) {
                      return a.first != b.first ? a.first > b.first : a.second < b.second;
                    });
  std::vector<std::int64_t> indices;
  for (std::size_t i = 0; i < count; ++i) indices.push_back(wrong[i].second);
  writer_->add_image("misclassified",
                     io::image_grid(pool_.images, indices, {.columns = options_.image_columns}),
                     step);
}

}  // namespace convkit::train
