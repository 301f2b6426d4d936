// TensorBoardCallback: logs a fit() to a TensorBoard event file in a run directory, once per
// epoch (step = the 1-based epoch): scalars loss, accuracy, val_loss, val_accuracy (when there is
// a validation set), lr and images_per_second; histograms "weights/<param>" of every parameter
// and buffer and "gradients/<param>" of every trainable one (the last step's gradient); and a
// grid image "misclassified" of the most confidently wrong validation samples.
//
//   train::TensorBoardCallback tensorboard(run_dir, &validation);
//   trainer.fit(train_set, &validation, {&tensorboard});   // then: tensorboard --logdir run_dir
#pragma once

#include <convkit/data/dataset.h>
#include <convkit/train/trainer.h>

#include <cstdint>
#include <filesystem>
#include <memory>

namespace convkit::io {
class EventWriter;
}

namespace convkit::train {

struct TensorBoardOptions {
  bool enabled = true;             // false: the callback does nothing (no file is created)
  bool histograms = true;          // weight and gradient histograms
  int max_images = 24;             // misclassified samples in the grid; 0: no images
  std::int64_t image_pool = 1000;  // validation samples searched for them (the first ones)
  int image_columns = 8;
};

class TensorBoardCallback final : public Callback {
 public:
  // `validation` (may be null) must outlive the callback; the event file is created in `dir`
  // when training begins.
  TensorBoardCallback(std::filesystem::path dir, const data::Dataset* validation = nullptr,
                      TensorBoardOptions options = {});
  ~TensorBoardCallback() override;

  void on_train_begin(Trainer& trainer) override;
  void on_epoch_end(Trainer& trainer, const EpochLog& log) override;
  void on_train_end(Trainer& trainer, const History& history) override;

  // The event file (empty before training begins or when disabled).
  std::filesystem::path path() const;

 private:
  void log_histograms(Trainer& trainer, std::int64_t step);
  void log_misclassified(Trainer& trainer, std::int64_t step);

  std::filesystem::path dir_;
  TensorBoardOptions options_;
  data::Dataset pool_;  // the validation samples searched for misclassified images
  std::unique_ptr<io::EventWriter> writer_;
};

}  // namespace convkit::train
