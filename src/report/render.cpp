// render_report: the report page, assembled from the charts and tables (see report.h). All CSS
// is inline and nothing is fetched, so report.html can be mailed or archived as one file.
#include <convkit/report/report.h>

#include "report/html.h"
#include "report/svg_chart.h"

#include <fmt/format.h>

#include <cmath>

namespace convkit::report {

namespace {

constexpr const char* kStyle = R"(
:root { --ink: #1f2937; --muted: #6b7280; --line: #e5e7eb; --bg: #ffffff; --panel: #f9fafb; }
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--ink);
       font: 14px/1.45 -apple-system, "Segoe UI", Roboto, "DejaVu Sans", Helvetica, Arial, sans-serif; }
main { max-width: 1200px; margin: 0 auto; padding: 24px 28px 48px; }
header h1 { margin: 0; font-size: 26px; }
header p { margin: 2px 0 0; color: var(--muted); }
h2 { font-size: 18px; margin: 32px 0 12px; padding-bottom: 6px; border-bottom: 1px solid var(--line); }
.facts { display: grid; grid-template-columns: repeat(auto-fill, minmax(170px, 1fr)); gap: 10px; margin: 16px 0 0; }
.facts div { background: var(--panel); border: 1px solid var(--line); border-radius: 6px; padding: 8px 12px; }
.facts dt { color: var(--muted); font-size: 12px; }
.facts dd { margin: 0; font-size: 16px; font-weight: 600; }
.charts { display: grid; grid-template-columns: 1fr 1fr; gap: 16px; }
.charts > * { min-width: 0; }
svg.chart { width: 100%; height: auto; background: var(--panel); border: 1px solid var(--line); border-radius: 6px; }
svg text { font-family: inherit; fill: var(--ink); }
svg .title { font-size: 14px; font-weight: 600; }
svg .tick { font-size: 11px; fill: var(--muted); }
svg .axis { font-size: 12px; fill: var(--muted); }
svg .legend { font-size: 12px; }
svg .empty { font-size: 13px; fill: var(--muted); }
svg .grid { stroke: var(--line); stroke-width: 1; }
svg .frame { fill: none; stroke: #d1d5db; }
.history { max-height: 302px; overflow: auto; border: 1px solid var(--line); border-radius: 6px; }
.history table { width: 100%; }
.evaluation { display: flex; flex-wrap: wrap; gap: 28px; align-items: flex-start; }
svg.heatmap { max-width: 100%; height: auto; }
table { border-collapse: collapse; font-variant-numeric: tabular-nums; }
th, td { padding: 4px 10px; text-align: right; border-bottom: 1px solid var(--line); }
th:first-child, td:first-child { text-align: left; }
thead th { position: sticky; top: 0; background: var(--panel); font-weight: 600; }
tr.average td { font-weight: 600; background: var(--panel); }
.samples { display: flex; flex-wrap: wrap; gap: 10px; }
.samples figure { margin: 0; width: 100px; text-align: center; background: var(--panel);
                  border: 1px solid var(--line); border-radius: 6px; padding: 6px 4px; }
.samples img { image-rendering: pixelated; image-rendering: crisp-edges; background: #000; }
.samples figcaption { font-size: 11px; line-height: 1.3; }
.samples .wrong { color: #dc2626; font-weight: 600; }
.samples .conf { color: var(--muted); }
pre { background: var(--panel); border: 1px solid var(--line); border-radius: 6px; padding: 12px;
      overflow: auto; font: 12px/1.4 "DejaVu Sans Mono", Menlo, Consolas, monospace; }
.note { color: var(--muted); }
)";

std::string facts_html(const ReportData& d) {
  std::string out = "<dl class=\"facts\">\n";
  for (const auto& [label, value] : d.facts)
    out +=
        fmt::format("<div><dt>{}</dt><dd>{}</dd></div>\n", html_escape(label), html_escape(value));
  return out + "</dl>\n";
}

std::string curves_html(const train::History& h) {
  if (h.epochs.empty()) return "<p class=\"note\">No history.csv in the run directory.</p>\n";
  std::vector<double> x, loss, val_loss, acc, val_acc, lr;
  for (const auto& e : h.epochs) {
    x.push_back(e.epoch);
    loss.push_back(e.loss);
    val_loss.push_back(e.val_loss);
    acc.push_back(e.accuracy);
    val_acc.push_back(e.val_accuracy);
    lr.push_back(e.lr);
  }
  const char* train_color = "#2563eb";
  const char* val_color = "#ea580c";
  std::string out = "<div class=\"charts\">\n";
  out += line_chart(
      {{.name = "train loss", .color = train_color, .x = x, .y = loss},
       {.name = "validation loss", .color = val_color, .x = x, .y = val_loss, .dashed = true}},
      {.title = "Loss", .x_label = "epoch", .y_label = "cross-entropy"});
  out += line_chart(
      {{.name = "train accuracy", .color = train_color, .x = x, .y = acc},
       {.name = "validation accuracy", .color = val_color, .x = x, .y = val_acc, .dashed = true}},
      {.title = "Accuracy", .x_label = "epoch", .y_label = "accuracy"});
  out += line_chart(
      {{.name = "learning rate", .color = "#059669", .x = x, .y = lr}},
      {.title = "Learning rate (end of epoch)", .x_label = "epoch", .y_label = "learning rate"});
  // The numbers behind the curves.
  out +=
      "<div "
      "class=\"history\"><table>\n<thead><tr><th>epoch</th><th>loss</th><th>accuracy</th><th>val "
      "loss</th>"
      "<th>val accuracy</th><th>lr</th></tr></thead>\n<tbody>\n";
  auto cell = [](double v, int digits) {
    return std::isfinite(v) ? fmt::format("{:.{}f}", v, digits) : std::string("–");
  };
  for (const auto& e : h.epochs)
    out +=
        fmt::format("<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n",
                    e.epoch, cell(e.loss, 4), cell(e.accuracy, 4), cell(e.val_loss, 4),
                    cell(e.val_accuracy, 4), short_number(e.lr, 4));
  out += "</tbody>\n</table></div>\n</div>\n";
  return out;
}

std::string class_table_html(const ReportData& d) {
  const auto& r = d.test;
  std::string out =
      "<table class=\"classes\">\n<thead><tr><th>class</th><th>precision</th><th>recall</th>"
      "<th>F1</th><th>support</th></tr></thead>\n<tbody>\n";
  auto row = [](const std::string& name, const train::ClassScores& s, const char* cls) {
    return fmt::format(
        "<tr{}><td>{}</td><td>{:.4f}</td><td>{:.4f}</td><td>{:.4f}</td><td>{}</td></tr>\n", cls,
        html_escape(name), s.precision, s.recall, s.f1, s.support);
  };
  for (std::size_t c = 0; c < r.classes.size(); ++c)
    out += row(c < d.class_names.size() ? d.class_names[c] : std::to_string(c), r.classes[c], "");
  out += row("macro average", r.macro, " class=\"average\"");
  out += row("weighted average", r.weighted, " class=\"average\"");
  out += fmt::format(
      "<tr class=\"average\"><td>accuracy</td><td></td><td></td><td>{:.4f}</td><td>{}</td></tr>\n",
      r.accuracy, r.samples);
  return out + "</tbody>\n</table>\n";
}

std::string samples_html(const ReportData& d) {
  if (d.test.samples == 0) return "<p class=\"note\">No test set.</p>\n";
  if (d.misclassified.empty())
    return "<p class=\"note\">Every test sample is classified correctly.</p>\n";
  auto name = [&](int c) {
    return html_escape(c >= 0 && std::size_t(c) < d.class_names.size()
                           ? d.class_names[std::size_t(c)]
                           : std::to_string(c));
  };
  std::string out = fmt::format(
      "<p class=\"note\">The {} test images the model got wrong with the highest confidence (of {} "
      "errors in {} "
      "samples).</p>\n<div class=\"samples\">\n",
      d.misclassified.size(),
      d.test.samples - std::llround(d.test.accuracy * double(d.test.samples)), d.test.samples);
  for (const auto& s : d.misclassified)
    out += fmt::format(
        "<figure><img src=\"data:image/png;base64,{}\" width=\"84\" height=\"84\" alt=\"test image "
        "{}\">"
        "<figcaption>true {}<br><span class=\"wrong\">predicted {}</span><br><span "
        "class=\"conf\">{:.1f}% &middot; "
        "#{}</span></figcaption></figure>\n",
        base64_encode(s.png), s.index, name(s.true_label), name(s.predicted), 100 * s.confidence,
        s.index);
  return out + "</div>\n";
}

}  // namespace

std::string render_report(const ReportData& d) {
  std::string out =
      "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n";
  out += fmt::format(
      "<title>{} &middot; convkit report</title>\n<style>{}</style>\n</head>\n<body>\n<main>\n",
      html_escape(d.title), kStyle);
  out += fmt::format("<header>\n<h1>{}</h1>\n<p>convkit training report</p>\n</header>\n",
                     html_escape(d.title));
  out += "<section id=\"summary\">\n" + facts_html(d) + "</section>\n";
  out += "<section id=\"curves\">\n<h2>Training curves</h2>\n" + curves_html(d.history) +
         "</section>\n";
  out += "<section id=\"evaluation\">\n<h2>Test set: confusion matrix and per-class scores</h2>\n";
  if (d.test.samples > 0)
    out += "<div class=\"evaluation\">\n" + confusion_heatmap(d.test.confusion, d.class_names) +
           class_table_html(d) + "</div>\n";
  else
    out += "<p class=\"note\">No test set.</p>\n";
  out += "</section>\n";
  out += "<section id=\"misclassified\">\n<h2>Most confidently wrong test images</h2>\n" +
         samples_html(d) + "</section>\n";
  out += fmt::format("<section id=\"model\">\n<h2>Model</h2>\n<pre>{}</pre>\n</section>\n",
                     html_escape(d.model_summary));
  out += fmt::format("<section id=\"config\">\n<h2>Config</h2>\n<pre>{}</pre>\n</section>\n",
                     d.config_yaml.empty() ? std::string("(no config.yaml in the run directory)")
                                           : html_escape(d.config_yaml));
  out += "</main>\n</body>\n</html>\n";
  return out;
}

}  // namespace convkit::report
