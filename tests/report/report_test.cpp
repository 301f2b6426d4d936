// The HTML report: the page is well-formed (balanced tags for every element it emits), holds one
// SVG polyline point per epoch for each curve, the confusion-matrix counts, the per-class table and
// the images as PNG data URIs; the same data renders to the same bytes; collect_report_data reads a
// run directory and agrees with Trainer::evaluate; base64, tick and history.csv helpers.
#include <convkit/report/report.h>

#include <convkit/data/image_file.h>

#include <convkit/io/png_writer.h>
#include "report/html.h"
#include "report/svg_chart.h"

#include <gtest/gtest.h>

#include <unistd.h>

#include <cmath>
#include <fstream>
#include <map>
#include <regex>
#include <set>

namespace convkit::report {
namespace {

namespace fs = std::filesystem;

// Every opened element is closed in order (void elements and self-closing SVG tags excepted);
// returns the first problem, or "" when balanced. Also counts elements by name.
std::string check_balanced(const std::string& html, std::map<std::string, int>* counts = nullptr) {
  static const std::set<std::string> kVoid{"meta", "img", "br", "link", "hr", "input"};
  std::vector<std::string> open;
  std::size_t at = 0;
  while ((at = html.find('<', at)) != std::string::npos) {
    const std::size_t end = html.find('>', at);
    if (end == std::string::npos) return "unterminated tag at " + std::to_string(at);
    std::string tag = html.substr(at + 1, end - at - 1);
    at = end + 1;
    if (tag.rfind("!DOCTYPE", 0) == 0) continue;
    const bool closing = !tag.empty() && tag[0] == '/';
    const bool self_closing = !tag.empty() && tag.back() == '/';
    std::string name = tag.substr(closing ? 1 : 0);
    name = name.substr(0, name.find_first_of(" \n/"));
    if (name.empty() || !std::isalpha(static_cast<unsigned char>(name[0])))
      return "bad tag '<" + tag + ">'";
    if (closing) {
      if (open.empty() || open.back() != name)
        return "</" + name + "> closes " +
               (open.empty() ? std::string("nothing") : "<" + open.back() + ">");
      open.pop_back();
    } else {
      if (counts) ++(*counts)[name];
      if (!self_closing && !kVoid.count(name)) open.push_back(name);
    }
  }
  return open.empty() ? "" : "<" + open.back() + "> is never closed";
}

// The points attribute of the polyline with data-series="name" (empty when absent).
std::vector<std::string> polyline_points(const std::string& html, const std::string& name) {
  const std::string key = "data-series=\"" + name + "\"";
  const std::size_t at = html.find(key);
  if (at == std::string::npos) return {};
  const std::size_t p = html.find("points=\"", at) + 8;
  const std::string points = html.substr(p, html.find('"', p) - p);
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start < points.size()) {
    const std::size_t space = points.find(' ', start);
    out.push_back(
        points.substr(start, space == std::string::npos ? std::string::npos : space - start));
    if (space == std::string::npos) break;
    start = space + 1;
  }
  return out;
}

int occurrences(const std::string& text, const std::string& needle) {
  int n = 0;
  for (std::size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1))
    ++n;
  return n;
}

Tensor gray_image(int seed) {
  Tensor t = Tensor::empty({1, 6, 5}, DType::u8);
  for (std::int64_t i = 0; i < t.numel(); ++i)
    t.data<std::uint8_t>()[i] = std::uint8_t((i * 41 + seed * 13) % 256);
  return t;
}

// A hand-made report: 5 epochs (validation from epoch 2 on), 3 classes, 2 wrong samples.
ReportData sample_data() {
  ReportData d;
  d.title = "run <1>";
  for (int e = 1; e <= 5; ++e)
    d.history.epochs.push_back({.epoch = e,
                                .loss = 1.0 / e,
                                .accuracy = 0.5 + 0.08 * e,
                                .val_loss = e == 1 ? NAN : 1.2 / e,
                                .val_accuracy = e == 1 ? NAN : 0.45 + 0.08 * e,
                                .lr = 1e-3 * std::pow(0.5, e)});
  d.class_names = {"cat", "dog", "a<&>b"};
  d.test.samples = 30;
  d.test.accuracy = 24.0 / 30;
  d.test.confusion = {{9, 1, 0}, {2, 7, 1}, {0, 2, 8}};
  for (int c = 0; c < 3; ++c)
    d.test.classes.push_back(
        {.precision = 0.8 + 0.01 * c, .recall = 0.7, .f1 = 0.75, .support = 10});
  d.test.macro = {.precision = 0.81, .recall = 0.7, .f1 = 0.75, .support = 30};
  d.test.weighted = d.test.macro;
  d.misclassified.push_back({.index = 4,
                             .true_label = 1,
                             .predicted = 0,
                             .confidence = 0.97,
                             .png = io::encode_png(gray_image(1))});
  d.misclassified.push_back({.index = 17,
                             .true_label = 2,
                             .predicted = 1,
                             .confidence = 0.61,
                             .png = io::encode_png(gray_image(2))});
  d.facts = {{"Test accuracy", "80.00%"}, {"Dataset", "pets"}};
  d.model_summary = "Layer (type)   Output shape\ndense (dense)  [N, 3]\n";
  d.config_yaml = "train:\n  epochs: 5\n  note: \"<script>\"\n";
  return d;
}

TEST(HtmlTest, Base64MatchesRfc4648Vectors) {
  const std::vector<std::pair<std::string, std::string>> vectors{{"", ""},
                                                                 {"f", "Zg=="},
                                                                 {"fo", "Zm8="},
                                                                 {"foo", "Zm9v"},
                                                                 {"foob", "Zm9vYg=="},
                                                                 {"fooba", "Zm9vYmE="},
                                                                 {"foobar", "Zm9vYmFy"}};
  for (const auto& [in, out] : vectors) EXPECT_EQ(base64_encode(in), out) << in;
  EXPECT_EQ(base64_encode(std::string("\xff\x00\x80", 3)), "/wCA");
  EXPECT_EQ(html_escape("a<b>&\"c'"), "a&lt;b&gt;&amp;&quot;c&#39;");
  EXPECT_EQ(short_number(0.00123456), "0.001235");
  EXPECT_EQ(short_number(NAN), "n/a");
}

TEST(SvgChartTest, NiceTicksAndPointsPerSeries) {
  const auto unit = nice_ticks(0, 1, 5);
  ASSERT_EQ(unit.size(), 6u);
  for (std::size_t i = 0; i < unit.size(); ++i) EXPECT_NEAR(unit[i], 0.2 * double(i), 1e-12);
  const auto ticks = nice_ticks(0.93, 0.991, 5);
  ASSERT_GE(ticks.size(), 3u);
  EXPECT_GE(ticks.front(), 0.93);
  EXPECT_LE(ticks.back(), 0.991 + 1e-12);
  const std::string svg =
      line_chart({{.name = "a", .color = "red", .x = {1, 2, 3}, .y = {3, NAN, 1}},
                  {.name = "empty", .color = "blue", .x = {1}, .y = {NAN}}},
                 {.title = "t"});
  EXPECT_EQ(check_balanced(svg), "");
  EXPECT_EQ(polyline_points(svg, "a").size(), 2u);  // the NaN point is left out
  EXPECT_EQ(svg.find("data-series=\"empty\""), std::string::npos);
  EXPECT_NE(line_chart({}, {.title = "none"}).find("no data"), std::string::npos);
}

TEST(RenderReportTest, WellFormedWithCurvesCountsTableAndImages) {
  const ReportData d = sample_data();
  const std::string html = render_report(d);
  std::map<std::string, int> counts;
  EXPECT_EQ(check_balanced(html, &counts), "");
  EXPECT_EQ(html.rfind("<!DOCTYPE html>", 0), 0u);
  EXPECT_EQ(counts["html"], 1);
  EXPECT_EQ(counts["svg"], 4);  // loss, accuracy, learning rate, confusion matrix
  EXPECT_EQ(html.find("<script"), std::string::npos);
  EXPECT_EQ(html.find("http://", html.find("</style>")),
            html.find("http://www.w3.org/2000/svg"));  // no links out

  // Curves: one point per epoch with a value.
  EXPECT_EQ(polyline_points(html, "train loss").size(), 5u);
  EXPECT_EQ(polyline_points(html, "validation loss").size(), 4u);
  EXPECT_EQ(polyline_points(html, "train accuracy").size(), 5u);
  EXPECT_EQ(polyline_points(html, "validation accuracy").size(), 4u);
  EXPECT_EQ(polyline_points(html, "learning rate").size(), 5u);
  // Train loss falls, so its points rise on the page (SVG y grows downwards).
  const auto loss = polyline_points(html, "train loss");
  EXPECT_LT(std::stod(loss.front().substr(loss.front().find(',') + 1)),
            std::stod(loss.back().substr(loss.back().find(',') + 1)));

  // Confusion matrix: every cell with its count, written in the cell when non-zero.
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 3; ++j) {
      const std::string cell = "data-true=\"" + std::to_string(i) + "\" data-pred=\"" +
                               std::to_string(j) + "\" data-count=\"" +
                               std::to_string(d.test.confusion[i][j]) + "\"";
      EXPECT_EQ(occurrences(html, cell), 1) << cell;
    }
  const std::regex count_text("<text class=\"count\"[^>]*>(\\d+)</text>");
  int cells_with_text = 0;
  for (auto it = std::sregex_iterator(html.begin(), html.end(), count_text);
       it != std::sregex_iterator(); ++it)
    ++cells_with_text;
  EXPECT_EQ(cells_with_text, 7);  // the non-zero cells

  // The class table, with escaped names.
  EXPECT_NE(html.find("<td>cat</td><td>0.8000</td><td>0.7000</td><td>0.7500</td><td>10</td>"),
            std::string::npos);
  EXPECT_NE(html.find("<td>a&lt;&amp;&gt;b</td><td>0.8200</td>"), std::string::npos);
  EXPECT_NE(html.find("macro average"), std::string::npos);
  EXPECT_EQ(html.find("a<&>b"), std::string::npos);
  EXPECT_NE(html.find("note: &quot;&lt;script&gt;&quot;"), std::string::npos);
  EXPECT_NE(html.find("<h1>run &lt;1&gt;</h1>"), std::string::npos);

  // Images: one data URI per sample, holding the PNG bytes.
  EXPECT_EQ(occurrences(html, "src=\"data:image/png;base64,"), 2);
  EXPECT_NE(html.find("data:image/png;base64," + base64_encode(d.misclassified[0].png) + "\""),
            std::string::npos);
  EXPECT_NE(html.find("predicted cat"), std::string::npos);
  EXPECT_NE(html.find("97.0%"), std::string::npos);
}

TEST(RenderReportTest, DeterministicAndCopesWithMissingParts) {
  EXPECT_EQ(render_report(sample_data()), render_report(sample_data()));
  ReportData empty;
  empty.title = "nothing";
  const std::string html = render_report(empty);
  EXPECT_EQ(check_balanced(html), "");
  EXPECT_NE(html.find("No history.csv"), std::string::npos);
  EXPECT_NE(html.find("No test set"), std::string::npos);
  ReportData one = sample_data();
  one.history.epochs.resize(1);  // a single epoch: one point, no validation
  EXPECT_EQ(polyline_points(render_report(one), "train loss").size(), 1u);
  EXPECT_TRUE(polyline_points(render_report(one), "validation loss").empty());
}

TEST(HistoryCsvTest, RoundTripsAndNamesTheFileOnErrors) {
  train::History h;
  h.epochs.push_back({.epoch = 1, .loss = 0.5, .accuracy = 0.8, .lr = 0.001});
  h.epochs.push_back({.epoch = 2,
                      .loss = 0.25,
                      .accuracy = 0.9,
                      .val_loss = 0.3,
                      .val_accuracy = 0.875,
                      .lr = 0.0005});
  const train::History back = parse_history_csv(h.to_csv(), "h.csv");
  ASSERT_EQ(back.epochs.size(), 2u);
  EXPECT_EQ(back.epochs[1].epoch, 2);
  EXPECT_DOUBLE_EQ(back.epochs[1].val_accuracy, 0.875);
  EXPECT_DOUBLE_EQ(back.epochs[1].lr, 0.0005);
  EXPECT_TRUE(std::isnan(back.epochs[0].val_loss));
  try {
    parse_history_csv("epoch,loss\n1,abc\n", "runs/x/history.csv");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("runs/x/history.csv: line 2"), std::string::npos)
        << e.what();
  }
  EXPECT_THROW(parse_history_csv("loss\n0.1\n", "f"), Error);
  EXPECT_THROW(parse_history_csv("epoch,loss\n1\n", "f"), Error);
}

class CollectTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("convkit_report_test_" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  void write(const std::string& name, const std::string& text) {
    std::ofstream(dir_ / name, std::ios::binary) << text;
  }
  fs::path dir_;
};

data::Dataset random_dataset(std::int64_t n) {
  data::Dataset d;
  d.images = Tensor::empty({n, 1, 4, 4}, DType::u8);
  d.labels = Tensor::empty({n}, DType::i32);
  for (std::int64_t i = 0; i < d.images.numel(); ++i)
    d.images.data<std::uint8_t>()[i] = std::uint8_t((i * 97 + 11) % 256);
  for (std::int64_t i = 0; i < n; ++i) d.labels.data<std::int32_t>()[i] = std::int32_t(i % 3);
  d.num_classes = 3;
  d.class_names = {"a", "b", "c"};
  return d;
}

TEST_F(CollectTest, ReadsTheRunDirectoryAndAgreesWithEvaluate) {
  nn::Model model = nn::sequential({1, 4, 4}, {nn::Flatten{}, nn::Dense{.units = 3}});
  model.initialize(7);
  const data::Dataset test = random_dataset(50);
  train::History h;
  h.epochs.push_back({.epoch = 1, .loss = 1.1, .accuracy = 0.4, .lr = 0.01});
  h.epochs.push_back({.epoch = 2, .loss = 0.9, .accuracy = 0.5, .lr = 0.005});
  write("history.csv", h.to_csv());
  write("metrics.json",
        R"({"dataset": "toy", "epochs": 2, "best_epoch": 2, "train_seconds": 1.5, "seed": 9})");
  write("config.yaml", "train: {epochs: 2}\n");
  const train::Preprocess pre{.mean = {0.5f}, .std = {0.25f}};

  const ReportData d =
      collect_report_data(dir_, model, test, pre, test.class_names, {.max_misclassified = 5});
  EXPECT_EQ(d.title, dir_.filename().string());
  EXPECT_EQ(d.history.epochs.size(), 2u);
  EXPECT_EQ(d.config_yaml, "train: {epochs: 2}\n");
  EXPECT_EQ(d.model_summary, model.summary());
  EXPECT_EQ(d.facts.front(), (std::pair<std::string, std::string>{"Dataset", "toy"}));

  auto optimizer = optim::make_optimizer("sgd", {});
  train::FitOptions fit;
  fit.preprocess = pre;
  fit.progress = false;
  train::Trainer trainer(model, *optimizer, fit);
  const auto expected = trainer.evaluate(test);
  EXPECT_EQ(d.test.samples, 50);
  EXPECT_EQ(d.test.confusion, expected.confusion);
  EXPECT_DOUBLE_EQ(d.test.accuracy, expected.accuracy);
  EXPECT_NEAR(d.test.loss, expected.loss, 1e-4);

  const std::int64_t errors = 50 - std::llround(expected.accuracy * 50);
  ASSERT_GT(errors, 0) << "the random model should get some samples wrong";
  EXPECT_EQ(std::int64_t(d.misclassified.size()), std::min<std::int64_t>(errors, 5));
  for (std::size_t i = 0; i < d.misclassified.size(); ++i) {
    const auto& s = d.misclassified[i];
    EXPECT_NE(s.true_label, s.predicted);
    EXPECT_EQ(s.true_label, test.labels.data<std::int32_t>()[s.index]);
    if (i > 0) EXPECT_GE(d.misclassified[i - 1].confidence, s.confidence);
    const fs::path png = dir_ / "sample.png";
    std::ofstream(png, std::ios::binary) << s.png;
    const Tensor image = data::read_image(png);
    EXPECT_EQ(std::memcmp(image.raw(), test.images.data<std::uint8_t>() + s.index * 16, 16), 0);
  }
  EXPECT_EQ(check_balanced(render_report(d)), "");

  // An empty directory still reports (no history, facts from the model).
  fs::remove(dir_ / "history.csv");
  fs::remove(dir_ / "metrics.json");
  const ReportData bare = collect_report_data(dir_, model, test, pre, {}, {});
  EXPECT_TRUE(bare.history.epochs.empty());
  EXPECT_EQ(bare.class_names, (std::vector<std::string>{"0", "1", "2"}));
  write("metrics.json", "{not json");
  EXPECT_THROW(collect_report_data(dir_, model, test, pre, {}, {}), Error);
}

}  // namespace
}  // namespace convkit::report
