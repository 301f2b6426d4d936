// The study's HTML report (OUT/report.html): the best trial, the objective over the trials, a
// parallel-coordinates plot, each parameter's importance and the trials table. One file, inline
// SVG and CSS, nothing fetched (like the training report).
//
// Importance: the share of the objective's variance between the groups a parameter splits the
// finished trials into (its choices; a number's quartiles) — the "eta squared" of a one-way
// analysis of variance, normalized to sum to 1 over the parameters. Cruder than Optuna's fANOVA
// (no interactions), and stated as such on the page.
#include <convkit/tune/tuner.h>

#include "report/html.h"
#include "report/svg_chart.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>

namespace convkit::tune {

namespace {

using report::html_escape;
using report::short_number;

struct Finished {
  const Trial* trial;
  double value;
};

// Where a parameter's value sits on its axis, 0..1 (log ranges in log space; choices evenly).
double axis_position(const Param& p, double v) {
  if (p.options() > 0) return p.options() == 1 ? 0.5 : v / double(p.options() - 1);
  if (p.log) return (std::log(v) - std::log(p.low)) / (std::log(p.high) - std::log(p.low));
  return (v - p.low) / (p.high - p.low);
}

std::string color_of(double t) {  // 0 worst (red) .. 1 best (blue)
  const int r = int(220 - 180 * t), g = int(60 + 60 * t), b = int(60 + 180 * t);
  return fmt::format("rgb({},{},{})", r, g, b);
}

std::string parallel_coordinates(const TuneSpec& spec, const std::vector<Finished>& done) {
  const auto& params = spec.space.params();
  const int axes = int(params.size()) + 1, width = std::max(560, 130 * axes), height = 320;
  const double top = 30, bottom = height - 40, left = 50, right = width - 50;
  const auto x_of = [&](int i) { return left + (right - left) * i / std::max(1, axes - 1); };
  double lo = INFINITY, hi = -INFINITY;
  for (const auto& f : done) lo = std::min(lo, f.value), hi = std::max(hi, f.value);
  std::string svg = fmt::format(
      "<svg class=\"parallel\" xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{}\" "
      "viewBox=\"0 0 {} {}\">\n",
      width, height, width, height);
  // Worst first, so the best are drawn on top; colored by rank (one diverged trial does not
  // wash out the others' colors).
  std::vector<const Finished*> order;
  for (const auto& f : done) order.push_back(&f);
  std::sort(order.begin(), order.end(), [&](const Finished* a, const Finished* b) {
    return spec.objective.better(b->value, a->value);
  });
  const auto quality = [&](std::size_t rank) {
    return order.size() > 1 ? double(rank) / double(order.size() - 1) : 1.0;
  };
  for (std::size_t rank = 0; rank < order.size(); ++rank) {
    const Finished* f = order[rank];
    std::string points;
    for (int i = 0; i < axes; ++i) {
      double pos = 0.5;
      bool present = true;
      if (i + 1 < axes) {
        const auto it = f->trial->params.find(params[std::size_t(i)].name);
        present = it != f->trial->params.end();
        if (present) pos = axis_position(params[std::size_t(i)], it->second);
      } else {
        pos = hi > lo ? (f->value - lo) / (hi - lo) : 0.5;
      }
      if (!present) continue;  // an inactive parameter: the line skips its axis
      points += fmt::format("{:.1f},{:.1f} ", x_of(i), bottom - (bottom - top) * pos);
    }
    svg += fmt::format(
        "<polyline class=\"trial\" data-trial=\"{}\" points=\"{}\" fill=\"none\" stroke=\"{}\" "
        "stroke-width=\"1.5\" opacity=\"0.8\"><title>trial {}: {} {}</title></polyline>\n",
        f->trial->number, points, color_of(quality(rank)), f->trial->number,
        html_escape(spec.objective.metric), short_number(f->value, 5));
  }
  for (int i = 0; i < axes; ++i) {
    const bool objective = i + 1 == axes;
    const Param* p = objective ? nullptr : &params[std::size_t(i)];
    const std::string name = objective ? spec.objective.metric : p->name;
    std::string low, high;
    if (objective) {
      low = short_number(lo, 5), high = short_number(hi, 5);
    } else if (p->options() > 0) {
      low = spec.space.text(*p, 0), high = spec.space.text(*p, double(p->options() - 1));
    } else {
      low = short_number(p->low), high = short_number(p->high);
    }
    svg += fmt::format(
        "<line x1=\"{0:.1f}\" y1=\"{1:.1f}\" x2=\"{0:.1f}\" y2=\"{2:.1f}\" stroke=\"#374151\"/>\n"
        "<text x=\"{0:.1f}\" y=\"{3:.1f}\" text-anchor=\"middle\" font-size=\"12\" "
        "font-weight=\"600\">{4}</text>\n"
        "<text x=\"{0:.1f}\" y=\"{5:.1f}\" text-anchor=\"middle\" font-size=\"11\" "
        "fill=\"#6b7280\">{6}</text>\n"
        "<text x=\"{0:.1f}\" y=\"{7:.1f}\" text-anchor=\"middle\" font-size=\"11\" "
        "fill=\"#6b7280\">{8}</text>\n",
        x_of(i), top, bottom, height - 8.0, html_escape(name), top - 8, html_escape(high),
        bottom + 16, html_escape(low));
  }
  return svg + "</svg>\n";
}

// The objective's between-group variance share per parameter (see the top of the file).
std::vector<std::pair<std::string, double>> importances(const TuneSpec& spec,
                                                        const std::vector<Finished>& done) {
  std::vector<std::pair<std::string, double>> out;
  double mean = 0;
  for (const auto& f : done) mean += f.value / double(done.size());
  double total = 0;
  for (const auto& f : done) total += (f.value - mean) * (f.value - mean);
  double sum = 0;
  for (const auto& p : spec.space.params()) {
    std::vector<std::pair<double, double>> xs;  // (parameter value, objective)
    for (const auto& f : done)
      if (const auto it = f.trial->params.find(p.name); it != f.trial->params.end())
        xs.push_back({it->second, f.value});
    std::map<int, std::pair<double, int>> groups;  // group -> (sum, count)
    std::sort(xs.begin(), xs.end());
    for (std::size_t i = 0; i < xs.size(); ++i) {
      const int g =
          p.options() > 0 ? int(xs[i].first) : int(4 * i / std::max<std::size_t>(xs.size(), 1));
      groups[g].first += xs[i].second;
      ++groups[g].second;
    }
    double between = 0;
    for (const auto& [g, s] : groups) {
      const double m = s.first / s.second;
      between += s.second * (m - mean) * (m - mean);
    }
    const double share = total > 0 && xs.size() >= 4 ? between / total : 0.0;
    out.push_back({p.name, share});
    sum += share;
  }
  for (auto& [name, share] : out) share = sum > 0 ? share / sum : 0.0;
  std::sort(out.begin(), out.end(),
            [](const auto& a, const auto& b) { return a.second > b.second; });
  return out;
}

constexpr const char* kStyle = R"(
body { margin: 0; color: #1f2937; font: 14px/1.45 -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; }
main { max-width: 1200px; margin: 0 auto; padding: 24px 28px 48px; }
h1 { margin: 0; font-size: 26px; } header p, .note { color: #6b7280; }
h2 { font-size: 18px; margin: 32px 0 12px; padding-bottom: 6px; border-bottom: 1px solid #e5e7eb; }
table { border-collapse: collapse; font-size: 13px; }
th, td { padding: 4px 10px; border-bottom: 1px solid #e5e7eb; text-align: right; }
th { background: #f9fafb; } td.params { text-align: left; font-family: monospace; }
tr.best td { background: #eff6ff; font-weight: 600; }
.bar { display: inline-block; height: 12px; background: #3b82f6; vertical-align: middle; }
svg { max-width: 100%; height: auto; }
)";

}  // namespace

std::string render_study_report(const TuneSpec& spec, const std::vector<Trial>& trials,
                                const std::optional<Trial>& best) {
  std::vector<Finished> done;
  for (const auto& t : trials)
    if (t.value && (t.state == TrialState::Complete || t.state == TrialState::Paused))
      done.push_back({&t, *t.value});
  std::map<std::string, int> states;
  for (const auto& t : trials) ++states[state_name(t.state)];
  std::string counts;
  for (const auto& [s, n] : states)
    counts += fmt::format("{}{} {}", counts.empty() ? "" : ", ", n, s);
  std::string out = fmt::format(
      "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>convkit "
      "study</title>\n<style>{}</style>\n</head>\n<body>\n<main>\n<header>\n<h1>Hyperparameter "
      "study</h1>\n<p>{} &middot; {} searcher{} &middot; objective: {} {} &middot; {} trials "
      "({})</p>\n</header>\n",
      kStyle, html_escape(spec.config.empty() ? "the default config" : spec.config.string()),
      spec.searcher.kind, spec.hyperband ? " with successive halving" : "",
      spec.objective.maximize ? "max" : "min", html_escape(spec.objective.metric), trials.size(),
      counts);
  if (best)
    out += fmt::format(
        "<section id=\"best\">\n<h2>Best trial: {}</h2>\n<p><b>{} {}</b> with "
        "<code>{}</code></p>\n</section>\n",
        best->number, html_escape(spec.objective.metric), short_number(*best->value, 5),
        html_escape(spec.space.describe(best->params)));
  // The objective over the trials, with the best so far.
  report::Series values{.name = spec.objective.metric, .color = "#9ca3af"};
  report::Series running{.name = "best so far", .color = "#2563eb"};
  double so_far = NAN;
  for (const auto& f : done) {
    values.x.push_back(f.trial->number), values.y.push_back(f.value);
    if (std::isnan(so_far) || spec.objective.better(f.value, so_far)) so_far = f.value;
    running.x.push_back(f.trial->number), running.y.push_back(so_far);
  }
  out += "<section id=\"history\">\n<h2>Objective over the trials</h2>\n" +
         report::line_chart({values, running}, {.title = spec.objective.metric,
                                                .x_label = "trial",
                                                .y_label = spec.objective.metric}) +
         "</section>\n";
  out +=
      "<section id=\"parallel\">\n<h2>Parallel coordinates</h2>\n<p class=\"note\">One line "
      "per finished trial, blue the best, red the worst; log ranges on log axes.</p>\n" +
      (done.empty() ? std::string("<p>No finished trial.</p>\n")
                    : parallel_coordinates(spec, done)) +
      "</section>\n";
  out +=
      "<section id=\"importance\">\n<h2>Parameter importance</h2>\n<p class=\"note\">The share "
      "of the objective's variance between the groups each parameter splits the trials into "
      "(its choices, or a number's quartiles); no interactions.</p>\n<table>\n";
  for (const auto& [name, share] : importances(spec, done))
    out += fmt::format(
        "<tr><td class=\"params\">{}</td><td>{:.1f}%</td><td><span class=\"bar\" "
        "style=\"width:{:.0f}px\"></span></td></tr>\n",
        html_escape(name), 100 * share, 300 * share);
  out +=
      "</table>\n</section>\n<section id=\"trials\">\n<h2>Trials</h2>\n<table>\n<tr><th>trial</"
      "th><th>state</th><th>parameters</th><th>" +
      html_escape(spec.objective.metric) + "</th><th>seconds</th></tr>\n";
  for (const auto& t : trials)
    out += fmt::format(
        "<tr{}><td>{}</td><td>{}</td><td class=\"params\">{}</td><td>{}</td><td>{:.1f}</td></tr>\n",
        best && best->number == t.number ? " class=\"best\"" : "", t.number, state_name(t.state),
        html_escape(spec.space.describe(t.params)), t.value ? short_number(*t.value, 5) : "",
        t.seconds);
  return out + "</table>\n</section>\n</main>\n</body>\n</html>\n";
}

}  // namespace convkit::tune
