// Classification metrics from a confusion matrix (see metrics.h).
#include <convkit/train/metrics.h>
#include <convkit/util/error.h>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>

namespace convkit::train {

MetricAccumulator::MetricAccumulator(int num_classes, int top_k)
    : k_(num_classes),
      top_k_(std::min(top_k, num_classes)),
      confusion_(std::size_t(num_classes) * num_classes, 0) {
  if (num_classes < 2) fail("metrics need at least 2 classes, got {}", num_classes);
}

void MetricAccumulator::reset() {
  std::fill(confusion_.begin(), confusion_.end(), 0);
  loss_sum_ = 0;
  samples_ = top_k_hits_ = 0;
}

void MetricAccumulator::reduce(const std::function<void(std::span<double>)>& sum) {
  std::vector<double> v(confusion_.begin(), confusion_.end());
  v.push_back(loss_sum_);
  v.push_back(double(samples_));
  v.push_back(double(top_k_hits_));
  sum(v);
  for (std::size_t i = 0; i < confusion_.size(); ++i) confusion_[i] = std::int64_t(v[i]);
  loss_sum_ = v[confusion_.size()];
  samples_ = std::int64_t(v[confusion_.size() + 1]);
  top_k_hits_ = std::int64_t(v[confusion_.size() + 2]);
}

void MetricAccumulator::add(const Tensor& scores, const Tensor& labels, double loss_sum) {
  add(scores, labels, labels.numel(), loss_sum);
}

void MetricAccumulator::add(const Tensor& scores, const Tensor& labels, std::int64_t rows,
                            double loss_sum) {
  if (scores.rank() != 2 || scores.dim(1) != k_)
    fail("metrics: expected scores [B, {}], got {}", k_, scores.shape().str());
  if (rows > scores.dim(0) || rows > labels.numel())
    fail("metrics: {} rows requested of a batch of {}", rows, scores.dim(0));
  const float* s = scores.data<float>();
  const std::int32_t* y = labels.data<std::int32_t>();
  for (std::int64_t i = 0; i < rows; ++i) {
    const float* row = s + i * k_;
    const int truth = y[i];
    if (truth < 0 || truth >= k_)
      fail("metrics: label {} of sample {} is outside [0, {})", truth, i, k_);
    int best = 0, rank = 0;  // rank = number of classes scored strictly above the truth
    for (int c = 0; c < k_; ++c) {
      if (row[c] > row[best]) best = c;
      if (row[c] > row[truth]) ++rank;
    }
    ++confusion_[std::size_t(truth) * k_ + best];
    if (rank < top_k_) ++top_k_hits_;
  }
  samples_ += rows;
  loss_sum_ += loss_sum;
}

ClassificationReport report_from_probabilities(const Tensor& probabilities, const Tensor& labels,
                                               int top_k) {
  if (probabilities.rank() != 2 || labels.numel() != probabilities.dim(0))
    fail("report_from_probabilities: probabilities {} do not match labels {}",
         probabilities.shape().str(), labels.shape().str());
  const std::int64_t n = probabilities.dim(0), k = probabilities.dim(1);
  const float* p = probabilities.data<float>();
  const std::int32_t* y = labels.data<std::int32_t>();
  double loss = 0;
  for (std::int64_t i = 0; i < n; ++i) loss -= std::log(std::max(double(p[i * k + y[i]]), 1e-30));
  MetricAccumulator accumulator(int(k), int(std::min<std::int64_t>(top_k, k)));
  accumulator.add(probabilities, labels, n, loss);
  return accumulator.report();
}

ClassificationReport MetricAccumulator::report() const {
  ClassificationReport r;
  r.samples = samples_;
  r.top_k = top_k_;
  r.loss = samples_ ? loss_sum_ / double(samples_) : 0;
  r.confusion.assign(k_, std::vector<std::int64_t>(k_, 0));
  std::int64_t correct = 0;
  for (int t = 0; t < k_; ++t)
    for (int p = 0; p < k_; ++p) {
      r.confusion[t][p] = confusion_[std::size_t(t) * k_ + p];
      if (t == p) correct += r.confusion[t][p];
    }
  r.accuracy = samples_ ? double(correct) / double(samples_) : 0;
  r.top_k_accuracy = samples_ ? double(top_k_hits_) / double(samples_) : 0;
  r.classes.resize(k_);
  for (int c = 0; c < k_; ++c) {
    std::int64_t predicted = 0, actual = 0;
    for (int o = 0; o < k_; ++o) predicted += r.confusion[o][c], actual += r.confusion[c][o];
    const double tp = double(r.confusion[c][c]);
    auto& s = r.classes[c];
    s.support = actual;
    s.precision = predicted ? tp / double(predicted) : 0;
    s.recall = actual ? tp / double(actual) : 0;
    s.f1 = s.precision + s.recall > 0 ? 2 * s.precision * s.recall / (s.precision + s.recall) : 0;
    r.macro.precision += s.precision / k_;
    r.macro.recall += s.recall / k_;
    r.macro.f1 += s.f1 / k_;
    if (samples_) {
      const double w = double(actual) / double(samples_);
      r.weighted.precision += w * s.precision;
      r.weighted.recall += w * s.recall;
      r.weighted.f1 += w * s.f1;
    }
  }
  r.macro.support = r.weighted.support = samples_;
  return r;
}

namespace {
std::string class_name(const std::vector<std::string>& names, int c) {
  return c < int(names.size()) ? names[c] : std::to_string(c);
}
}  // namespace

std::string format_report(const ClassificationReport& r, const std::vector<std::string>& names) {
  const int k = int(r.classes.size());
  std::string out =
      fmt::format("samples {}  loss {:.4f}  accuracy {:.2f}%  top-{} {:.2f}%\n\n", r.samples,
                  r.loss, 100 * r.accuracy, r.top_k, 100 * r.top_k_accuracy);
  out += fmt::format("{:<16}{:>10}{:>10}{:>10}{:>10}\n", "class", "precision", "recall", "f1",
                     "support");
  for (int c = 0; c < k; ++c) {
    const auto& s = r.classes[c];
    out += fmt::format("{:<16}{:>10.4f}{:>10.4f}{:>10.4f}{:>10}\n", class_name(names, c),
                       s.precision, s.recall, s.f1, s.support);
  }
  out += fmt::format("{:<16}{:>10.4f}{:>10.4f}{:>10.4f}{:>10}\n", "macro avg", r.macro.precision,
                     r.macro.recall, r.macro.f1, r.samples);
  out += fmt::format("{:<16}{:>10.4f}{:>10.4f}{:>10.4f}{:>10}\n\n", "weighted avg",
                     r.weighted.precision, r.weighted.recall, r.weighted.f1, r.samples);
  out += "confusion matrix (rows: true class, columns: predicted)\n";
  out += fmt::format("{:>6}", "");
  for (int c = 0; c < k; ++c) out += fmt::format("{:>7}", c);
  out += "\n";
  for (int t = 0; t < k; ++t) {
    out += fmt::format("{:>6}", t);
    for (int p = 0; p < k; ++p) out += fmt::format("{:>7}", r.confusion[t][p]);
    out += "\n";
  }
  return out;
}

std::string report_to_json(const ClassificationReport& r, const std::vector<std::string>& names) {
  nlohmann::json j;
  j["samples"] = r.samples;
  j["loss"] = r.loss;
  j["accuracy"] = r.accuracy;
  j["top_k"] = r.top_k;
  j["top_k_accuracy"] = r.top_k_accuracy;
  auto scores = [](const ClassScores& s) {
    return nlohmann::json{
        {"precision", s.precision}, {"recall", s.recall}, {"f1", s.f1}, {"support", s.support}};
  };
  for (int c = 0; c < int(r.classes.size()); ++c) {
    auto entry = scores(r.classes[c]);
    entry["class"] = class_name(names, c);
    j["classes"].push_back(entry);
  }
  j["macro_avg"] = scores(r.macro);
  j["weighted_avg"] = scores(r.weighted);
  j["confusion_matrix"] = r.confusion;
  return j.dump(2);
}

}  // namespace convkit::train
