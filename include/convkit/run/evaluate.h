// Evaluating checkpoints as `convkit eval` does: one checkpoint or several (an ensemble: class
// probabilities averaged), each optionally with test-time augmentation, on the test or train
// split of the dataset the first one was trained on.
#pragma once

#include <convkit/train/metrics.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace convkit::run {

struct EvaluateOptions {
  std::string
      data_dir;  // the dataset's files; empty: the folder the run recorded, else the default lookup
  std::string split = "test";  // test or train
  std::string tta = "none";    // none, shift, flip, shift+flip (tta.h)
  std::int64_t batch_size = 1000;
};

struct Evaluation {
  std::string dataset;
  std::vector<std::string> class_names;
  train::ClassificationReport report;
};

// Each entry a checkpoint file or a run directory (its best.ckpt). Members trained on another
// dataset, or whose outputs differ, are DataErrors naming both.
Evaluation evaluate(const std::vector<std::filesystem::path>& checkpoints,
                    const EvaluateOptions& options = {});

}  // namespace convkit::run
