// The HTML report of a run: one self-contained report.html (no network, no JavaScript; charts are
// inline SVG, images inline PNG data URIs) with the loss/accuracy and learning-rate curves from
// history.csv, the test confusion matrix as a heatmap with counts, per-class precision/recall/F1,
// the most confidently wrong test images, headline numbers from metrics.json, the model summary
// and the resolved config.
//
//   auto data = report::collect_report_data(run_dir, model, test_set, preprocess, class_names);
//   write_file(run_dir / "report.html", report::render_report(data));
#pragma once

#include <convkit/data/dataset.h>
#include <convkit/nn/model.h>
#include <convkit/train/metrics.h>
#include <convkit/train/predictor.h>
#include <convkit/train/trainer.h>  // History

#include <cstdint>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

namespace convkit::report {

struct MisclassifiedSample {
  std::int64_t index = 0;  // in the test set
  int true_label = 0, predicted = 0;
  double confidence = 0;  // the predicted class's probability
  std::string png;        // the image as PNG bytes
};

struct ReportData {
  std::string title;                     // e.g. the run directory's name
  train::History history;                // from history.csv (no epochs when it is missing)
  std::vector<std::string> class_names;  // one per class
  train::ClassificationReport test;      // on the test set
  std::vector<MisclassifiedSample> misclassified;          // most confident first
  std::vector<std::pair<std::string, std::string>> facts;  // headline numbers: label, value text
  std::string model_summary;                               // Model::summary()
  std::string config_yaml;                                 // the resolved config.yaml
};

struct CollectOptions {
  int max_misclassified = 40;
  // Batch of the prediction pass: its plan holds the activations of a whole batch, so a batch
  // of 1000 took 224 MB for the default MNIST model (256: the eval default, a quarter of that).
  std::int64_t batch_size = 256;
  std::string backend = "cpu";
  // The test set's class probabilities [N, K] when the caller already has them (convkit train
  // does): the prediction pass is skipped.
  Tensor probabilities;
};

// Reads RUN_DIR/history.csv, metrics.json and config.yaml (each optional), runs the model over
// `test` (train::Predictor with `preprocess`) for the confusion matrix, per-class scores
// and the most confidently wrong images. Malformed files are Errors naming the file.
ReportData collect_report_data(const std::filesystem::path& run_dir, nn::Model& model,
                               const data::Dataset& test, const train::Preprocess& preprocess,
                               const std::vector<std::string>& class_names,
                               const CollectOptions& options = {});

// history.csv (as History::to_csv writes it) back into epochs; empty cells are NaN.
train::History parse_history_csv(const std::string& text, const std::string& source);

// The report page. Deterministic: the same data gives the same bytes.
std::string render_report(const ReportData& data);

}  // namespace convkit::report
