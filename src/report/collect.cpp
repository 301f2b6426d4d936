// Gathering what the report shows: run-directory files (history.csv, metrics.json, config.yaml)
// and a prediction pass over the test set (see report.h).
#include <convkit/report/report.h>

#include <convkit/io/png_writer.h>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <sstream>

namespace convkit::report {

namespace fs = std::filesystem;

namespace {

std::optional<std::string> read_optional(const fs::path& path) {
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) return std::nullopt;
  std::ifstream in(path, std::ios::binary);
  if (!in) fail("{}: cannot read", path.string());
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<std::string> split_csv_line(const std::string& line) {
  std::vector<std::string> cells;
  std::size_t start = 0;
  while (true) {
    const std::size_t comma = line.find(',', start);
    cells.push_back(
        line.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
    if (comma == std::string::npos) return cells;
    start = comma + 1;
  }
}

std::string grouped(std::int64_t n) {
  std::string digits = std::to_string(n < 0 ? -n : n), out = n < 0 ? "-" : "";
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

// Headline numbers: the test scores measured here, then what metrics.json recorded.
std::vector<std::pair<std::string, std::string>> make_facts(const train::ClassificationReport& test,
                                                            const nlohmann::json& metrics,
                                                            const nn::Model& model) {
  std::vector<std::pair<std::string, std::string>> facts;
  if (metrics.contains("dataset") && metrics["dataset"].is_string())
    facts.emplace_back("Dataset", metrics["dataset"]);
  if (test.samples > 0) {
    facts.emplace_back("Test accuracy", fmt::format("{:.2f}%", 100 * test.accuracy));
    facts.emplace_back("Test loss", fmt::format("{:.4f}", test.loss));
    facts.emplace_back("Macro F1", fmt::format("{:.4f}", test.macro.f1));
    facts.emplace_back("Test samples", grouped(test.samples));
  }
  auto number = [&](const char* key) -> std::optional<double> {
    if (metrics.contains(key) && metrics[key].is_number()) return metrics[key].get<double>();
    return std::nullopt;
  };
  if (auto epochs = number("epochs")) {
    auto best = number("best_epoch");
    facts.emplace_back("Epochs",
                       best ? fmt::format("{:.0f} (best.ckpt from epoch {:.0f})", *epochs, *best)
                            : fmt::format("{:.0f}", *epochs));
  }
  if (auto seconds = number("train_seconds")) {
    auto rate = number("images_per_second");
    facts.emplace_back("Training time",
                       rate ? fmt::format("{:.1f} s ({} images/s)", *seconds,
                                          grouped(std::int64_t(std::llround(*rate))))
                            : fmt::format("{:.1f} s", *seconds));
  }
  facts.emplace_back("Parameters", grouped(model.parameter_count()));
  if (auto seed = number("seed")) facts.emplace_back("Seed", fmt::format("{:.0f}", *seed));
  if (auto threads = number("threads"))
    facts.emplace_back("Threads", fmt::format("{:.0f}", *threads));
  if (metrics.contains("convkit_version") && metrics["convkit_version"].is_string())
    facts.emplace_back("convkit", metrics["convkit_version"]);
  return facts;
}

}  // namespace

train::History parse_history_csv(const std::string& text, const std::string& source) {
  std::istringstream in(text);
  std::string line;
  if (!std::getline(in, line))
    fail("{}: empty file, expected the header epoch,loss,accuracy,...", source);
  const auto header = split_csv_line(line);
  auto column = [&](std::string_view name) -> int {
    auto it = std::find(header.begin(), header.end(), name);
    return it == header.end() ? -1 : int(it - header.begin());
  };
  const int epoch_col = column("epoch");
  if (epoch_col < 0) fail("{}: line 1: no 'epoch' column in the header '{}'", source, line);
  train::History history;
  for (int number = 2; std::getline(in, line); ++number) {
    if (line.empty()) continue;
    const auto cells = split_csv_line(line);
    if (cells.size() != header.size())
      fail("{}: line {}: {} cells, the header has {}", source, number, cells.size(), header.size());
    auto value = [&](std::string_view name) {
      const int c = column(name);
      if (c < 0 || cells[std::size_t(c)].empty()) return double(NAN);
      const std::string& cell = cells[std::size_t(c)];
      char* end = nullptr;
      const double v = std::strtod(cell.c_str(), &end);
      if (end != cell.c_str() + cell.size())
        fail("{}: line {}: '{}' is not a number ({})", source, number, cell, name);
      return v;
    };
    train::EpochLog e;
    const double epoch = value("epoch");
    if (!(epoch >= 1) || epoch != std::floor(epoch))
      fail("{}: line {}: bad epoch '{}'", source, number, cells[std::size_t(epoch_col)]);
    e.epoch = int(epoch);
    e.loss = value("loss");
    e.accuracy = value("accuracy");
    e.val_loss = value("val_loss");
    e.val_accuracy = value("val_accuracy");
    e.lr = value("lr");
    history.epochs.push_back(e);
  }
  return history;
}

ReportData collect_report_data(const fs::path& run_dir, nn::Model& model, const data::Dataset& test,
                               const train::Preprocess& preprocess,
                               const std::vector<std::string>& class_names,
                               const CollectOptions& options) {
  ReportData data;
  const fs::path dir = fs::absolute(run_dir).lexically_normal();
  data.title = dir.has_filename() ? dir.filename().string() : dir.parent_path().filename().string();
  data.class_names = class_names;
  if (auto csv = read_optional(run_dir / "history.csv"))
    data.history = parse_history_csv(*csv, (run_dir / "history.csv").string());
  nlohmann::json metrics = nlohmann::json::object();
  if (auto text = read_optional(run_dir / "metrics.json")) {
    try {
      metrics = nlohmann::json::parse(*text);
    } catch (const nlohmann::json::exception& e) {
      fail("{}: invalid JSON ({})", (run_dir / "metrics.json").string(), e.what());
    }
    if (!metrics.is_object())
      fail("{}: expected a JSON object", (run_dir / "metrics.json").string());
  }
  data.config_yaml = read_optional(run_dir / "config.yaml").value_or("");
  data.model_summary = model.summary();

  const std::int64_t n = test.size(), k = test.num_classes;
  if (n > 0) {
    const Shape out = model.output_shape(0);
    if (out.rank() != 1 || out[0] != k)
      fail("{}: the model outputs {} per sample but the test set has {} classes", run_dir.string(),
           out.str(), k);
    if (std::int64_t(data.class_names.size()) != k) {
      data.class_names.clear();
      for (std::int64_t c = 0; c < k; ++c) data.class_names.push_back(std::to_string(c));
    }
    Tensor probabilities = options.probabilities;
    if (!probabilities.defined()) {
      probabilities = train::Predictor::borrowing(
                          model, preprocess, class_names,
                          {.batch_size = options.batch_size, .backend = options.backend})
                          .predict(test);
    } else if (probabilities.shape() != Shape{n, k} || probabilities.dtype() != DType::f32) {
      fail("report: the given probabilities are {} {}, expected f32 [{}, {}]",
           name_of(probabilities.dtype()), probabilities.shape().str(), n, k);
    }
    const float* p = probabilities.data<float>();
    const std::int32_t* labels = test.labels.data<std::int32_t>();
    std::vector<std::pair<float, std::int64_t>> wrong;  // (confidence, sample)
    for (std::int64_t i = 0; i < n; ++i) {
      const float* row = p + i * k;
      const std::int64_t predicted = std::max_element(row, row + k) - row;
      if (predicted != labels[i]) wrong.emplace_back(row[predicted], i);
    }
    data.test = train::report_from_probabilities(probabilities, test.labels);

    const std::size_t count =
        std::min(wrong.size(), std::size_t(std::max(options.max_misclassified, 0)));
    // Most confident first; ties by index, so the selection is deterministic.
    std::partial_sort(wrong.begin(), wrong.begin() + std::ptrdiff_t(count), wrong.end(),
                      [](const auto& a, const auto& b) {
                        return a.first != b.first ? a.first > b.first : a.second < b.second;
                      });
    const Shape sample{test.channels(), test.height(), test.width()};
    for (std::size_t s = 0; s < count; ++s) {
      const std::int64_t i = wrong[s].second;
      const float* row = p + i * k;
      data.misclassified.push_back(
          {.index = i,
           .true_label = labels[i],
           .predicted = int(std::max_element(row, row + k) - row),
           .confidence = wrong[s].first,
           .png = io::encode_png(test.images.slice(i, i + 1).reshape(sample))});
    }
  }
  data.facts = make_facts(data.test, metrics, model);
  return data;
}

}  // namespace convkit::report
