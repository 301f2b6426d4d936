// Classification metrics: accuracy, top-k, confusion matrix, per-class precision/recall/F1 with
// macro and weighted averages. Accumulated batch by batch (counts only, so exact and
// order-independent), summarized at the end.
#pragma once

#include <convkit/tensor/tensor.h>

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

namespace convkit::train {

struct ClassScores {
  double precision = 0, recall = 0, f1 = 0;
  std::int64_t support = 0;  // true samples of the class
};

struct ClassificationReport {
  std::int64_t samples = 0;
  double loss = 0;  // mean loss over samples (when losses were added)
  double accuracy = 0;
  double top_k_accuracy = 0;  // with k = top_k
  int top_k = 5;
  std::vector<ClassScores> classes;
  ClassScores macro, weighted;                       // support = samples
  std::vector<std::vector<std::int64_t>> confusion;  // [true][predicted]
};

class MetricAccumulator {
 public:
  explicit MetricAccumulator(int num_classes, int top_k = 5);
  // probabilities or logits [B, K] f32 (argmax and top-k are the same for both), labels [B] i32,
  // and the batch's summed loss (mean loss * B) if known.
  void add(const Tensor& scores, const Tensor& labels, double loss_sum = 0.0);
  void add(const Tensor& scores, const Tensor& labels, std::int64_t rows, double loss_sum);
  ClassificationReport report() const;
  void reset();
  // Data-parallel evaluation: `sum` adds the values of every rank in place; afterwards this
  // accumulator holds the counts of all ranks' samples (exact: counts travel as doubles).
  void reduce(const std::function<void(std::span<double>)>& sum);

 private:
  int k_;
  int top_k_;
  double loss_sum_ = 0;
  std::int64_t samples_ = 0, top_k_hits_ = 0;
  std::vector<std::int64_t> confusion_;  // k_ * k_
};

// The report of a whole set from its class probabilities [N, K] and labels [N]; the loss is the
// mean -log p[label] (p clamped at 1e-30).
ClassificationReport report_from_probabilities(const Tensor& probabilities, const Tensor& labels,
                                               int top_k = 5);

// The report as an aligned text table (per-class rows, macro/weighted averages, confusion matrix).
std::string format_report(const ClassificationReport& report,
                          const std::vector<std::string>& class_names);
// The report as JSON text.
std::string report_to_json(const ClassificationReport& report,
                           const std::vector<std::string>& class_names);

}  // namespace convkit::train
