// SVG line charts and the confusion heatmap (see svg_chart.h).
#include "report/svg_chart.h"

#include "report/html.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <numeric>

namespace convkit::report {

namespace {

// Fixed-precision coordinates: one decimal is finer than a pixel and keeps the output stable.
std::string px(double v) {
  return fmt::format("{:.1f}", v);
}

std::string tick_label(double v, double step) {
  if (v == 0) return "0";
  const double magnitude = std::max(std::abs(v), std::abs(step));
  if (magnitude < 1e-3 || magnitude >= 1e5) return fmt::format("{:.2g}", v);
  const int decimals = std::max(0, int(std::ceil(-std::log10(step) - 1e-9)));
  return fmt::format("{:.{}f}", v, decimals);
}

}  // namespace

std::vector<double> nice_ticks(double lo, double hi, int target_count) {
  if (!std::isfinite(lo) || !std::isfinite(hi) || !(hi > lo)) return {lo};
  const double raw = (hi - lo) / std::max(1, target_count);
  const double power = std::pow(10.0, std::floor(std::log10(raw)));
  double step = power;
  for (double m : {1.0, 2.0, 5.0, 10.0})
    if (m * power >= raw) {
      step = m * power;
      break;
    }
  std::vector<double> ticks;
  // Multiples k * step (not a running sum, so rounding errors do not accumulate).
  for (auto k = std::int64_t(std::ceil(lo / step - 1e-9)); double(k) * step <= hi + step * 1e-9;
       ++k)
    ticks.push_back(double(k) * step);
  return ticks;
}

std::string line_chart(const std::vector<Series>& series, const ChartOptions& o) {
  const double right = 14, top = 30, bottom = 44;
  const double h = o.height - top - bottom;
  double x_lo = INFINITY, x_hi = -INFINITY, y_lo = INFINITY, y_hi = -INFINITY;
  std::vector<const Series*> shown;
  for (const auto& s : series) {
    bool any = false;
    for (std::size_t i = 0; i < s.x.size() && i < s.y.size(); ++i) {
      if (!std::isfinite(s.y[i]) || !std::isfinite(s.x[i])) continue;
      any = true;
      x_lo = std::min(x_lo, s.x[i]), x_hi = std::max(x_hi, s.x[i]);
      y_lo = std::min(y_lo, s.y[i]), y_hi = std::max(y_hi, s.y[i]);
    }
    if (any) shown.push_back(&s);
  }
  // Domains: x padded half a step when there is a single x, y padded 5% (or a little when flat).
  // The y ticks come first: the left margin makes room for their longest label (~6.6 px a char).
  if (!shown.empty()) {
    if (x_hi <= x_lo) x_lo -= 0.5, x_hi += 0.5;
    const double pad = y_hi > y_lo ? (y_hi - y_lo) * 0.05 : std::max(std::abs(y_hi) * 0.05, 1e-6);
    y_lo -= pad, y_hi += pad;
  }
  const auto y_ticks = shown.empty() ? std::vector<double>{} : nice_ticks(y_lo, y_hi, 5);
  const double y_step = y_ticks.size() > 1 ? y_ticks[1] - y_ticks[0] : std::abs(y_hi - y_lo);
  std::size_t longest_tick = 1;
  for (double t : y_ticks) longest_tick = std::max(longest_tick, tick_label(t, y_step).size());
  const double left = 34 + 6.6 * double(longest_tick);
  const double w = o.width - left - right;
  std::string out = fmt::format(
      "<svg class=\"chart\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {} {}\" "
      "width=\"{}\" height=\"{}\" "
      "role=\"img\" aria-label=\"{}\">\n",
      o.width, o.height, o.width, o.height, html_escape(o.title));
  out += fmt::format("<text class=\"title\" x=\"14\" y=\"18\">{}</text>\n", html_escape(o.title));
  if (shown.empty()) {
    out += fmt::format("<text class=\"empty\" x=\"{}\" y=\"{}\">no data</text>\n</svg>\n",
                       px(left + w / 2 - 24), px(top + h / 2));
    return out;
  }
  auto sx = [&](double x) { return left + (x - x_lo) / (x_hi - x_lo) * w; };
  auto sy = [&](double y) { return top + h - (y - y_lo) / (y_hi - y_lo) * h; };

  // Grid and y ticks.
  for (double t : y_ticks) {
    out += fmt::format("<line class=\"grid\" x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\"/>\n", px(left),
                       px(sy(t)), px(left + w), px(sy(t)));
    out += fmt::format("<text class=\"tick\" x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text>\n",
                       px(left - 6), px(sy(t) + 4), tick_label(t, y_step));
  }
  // x ticks: whole numbers when integer_x (at most ~10 of them).
  std::vector<double> x_ticks;
  if (o.integer_x) {
    const double span = std::floor(x_hi) - std::ceil(x_lo);
    const auto steps = nice_ticks(0, std::max(span, 1.0), 8);
    const double step = steps.size() > 1 ? std::max(1.0, steps[1] - steps[0]) : 1.0;
    for (auto k = std::int64_t(std::ceil(x_lo / step)); double(k) * step <= x_hi + 1e-9; ++k)
      x_ticks.push_back(double(k) * step);
  } else {
    x_ticks = nice_ticks(x_lo, x_hi, 6);
  }
  const double x_step = x_ticks.size() > 1 ? x_ticks[1] - x_ticks[0] : 1.0;
  for (double t : x_ticks)
    out += fmt::format("<text class=\"tick\" x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>\n",
                       px(sx(t)), px(top + h + 16), tick_label(t, x_step));
  out += fmt::format("<rect class=\"frame\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\"/>\n",
                     px(left), px(top), px(w), px(h));
  out += fmt::format("<text class=\"axis\" x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>\n",
                     px(left + w / 2), px(o.height - 6.0), html_escape(o.x_label));
  out += fmt::format(
      "<text class=\"axis\" transform=\"translate(14 {}) rotate(-90)\" "
      "text-anchor=\"middle\">{}</text>\n",
      px(top + h / 2), html_escape(o.y_label));

  // Series: a polyline and a circle with a tooltip per point.
  for (const Series* s : shown) {
    std::string points, circles;
    for (std::size_t i = 0; i < s->x.size() && i < s->y.size(); ++i) {
      if (!std::isfinite(s->y[i]) || !std::isfinite(s->x[i])) continue;
      if (!points.empty()) points += ' ';
      points += px(sx(s->x[i])) + "," + px(sy(s->y[i]));
      circles += fmt::format(
          "<circle cx=\"{}\" cy=\"{}\" r=\"3\" fill=\"{}\"><title>{} at {}: {}</title></circle>\n",
          px(sx(s->x[i])), px(sy(s->y[i])), s->color, html_escape(s->name),
          short_number(s->x[i], 6), short_number(s->y[i], 6));
    }
    out += fmt::format(
        "<polyline class=\"series\" data-series=\"{}\" fill=\"none\" stroke=\"{}\" "
        "stroke-width=\"2\"{} "
        "points=\"{}\"/>\n",
        html_escape(s->name), s->color, s->dashed ? " stroke-dasharray=\"6 4\"" : "", points);
    out += circles;
  }
  // Legend: in the title row, right-aligned (text width estimated at 6.6 px per character).
  double lx = o.width - right;
  for (auto it = shown.rbegin(); it != shown.rend(); ++it) {
    const Series* s = *it;
    lx -= 28 + 6.6 * double(s->name.size());
    out += fmt::format(
        "<line x1=\"{}\" y1=\"14\" x2=\"{}\" y2=\"14\" stroke=\"{}\" stroke-width=\"2\"{}/>\n",
        px(lx), px(lx + 22), s->color, s->dashed ? " stroke-dasharray=\"6 4\"" : "");
    out += fmt::format("<text class=\"legend\" x=\"{}\" y=\"18\">{}</text>\n", px(lx + 27),
                       html_escape(s->name));
    lx -= 16;
  }
  out += "</svg>\n";
  return out;
}

std::string confusion_heatmap(const std::vector<std::vector<std::int64_t>>& confusion,
                              const std::vector<std::string>& class_names) {
  const int k = int(confusion.size());
  auto name = [&](int i) {
    return i < int(class_names.size()) ? class_names[std::size_t(i)] : std::to_string(i);
  };
  std::size_t longest = 1;
  for (int i = 0; i < k; ++i) longest = std::max(longest, name(i).size());
  const double cell = std::clamp(440.0 / std::max(k, 1), 10.0, 44.0);
  const double label_w = std::min(150.0, 12.0 + 7.0 * double(longest));
  const bool rotate = longest > 2;  // long column labels are written at an angle
  const double left = label_w + 22,
               top = (rotate ? std::min(110.0, 10.0 + 5.5 * double(longest)) : 22.0) + 22;
  // Rotated column labels reach past the last column by about their length * cos(45deg).
  const double overhang = rotate ? std::min(110.0, 4.5 * double(longest)) : 10.0;
  const double width = left + cell * k + overhang, height = top + cell * k + 10;
  const double font = std::min(12.0, cell * 0.3);
  std::string out = fmt::format(
      "<svg class=\"heatmap\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {} {}\" "
      "width=\"{}\" height=\"{}\" "
      "role=\"img\" aria-label=\"confusion matrix\">\n",
      px(width), px(height), px(width), px(height));
  out += fmt::format(
      "<text class=\"axis\" x=\"{}\" y=\"14\" text-anchor=\"middle\">predicted</text>\n",
      px(left + cell * k / 2));
  out += fmt::format(
      "<text class=\"axis\" transform=\"translate(12 {}) rotate(-90)\" "
      "text-anchor=\"middle\">true</text>\n",
      px(top + cell * k / 2));
  for (int j = 0; j < k; ++j) {
    const double cx = left + cell * (j + 0.5);
    if (rotate)
      out +=
          fmt::format("<text class=\"tick\" transform=\"translate({} {}) rotate(-45)\">{}</text>\n",
                      px(cx + 3), px(top - 5), html_escape(name(j)));
    else
      out +=
          fmt::format("<text class=\"tick\" x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>\n",
                      px(cx), px(top - 6), html_escape(name(j)));
  }
  for (int i = 0; i < k; ++i) {
    const auto& row = confusion[std::size_t(i)];
    const std::int64_t total = std::accumulate(row.begin(), row.end(), std::int64_t{0});
    const double y = top + cell * i;
    out += fmt::format("<text class=\"tick\" x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text>\n",
                       px(left - 6), px(y + cell / 2 + 4), html_escape(name(i)));
    for (int j = 0; j < k; ++j) {
      const std::int64_t count = j < int(row.size()) ? row[std::size_t(j)] : 0;
      const double frac = total > 0 ? double(count) / double(total) : 0.0;
      // NOTE: errors are rare, so off-diagonal shading uses sqrt to make 1% visible.
      const double alpha = i == j ? frac : std::min(1.0, std::sqrt(frac) * 1.5);
      const std::string fill = count == 0 ? "#f4f5f7"
                               : i == j
                                   ? fmt::format("rgba(37,99,235,{:.3f})", 0.12 + 0.88 * alpha)
                                   : fmt::format("rgba(220,38,38,{:.3f})", 0.12 + 0.88 * alpha);
      const double x = left + cell * j;
      out += fmt::format(
          "<rect class=\"cell\" data-true=\"{}\" data-pred=\"{}\" data-count=\"{}\" x=\"{}\" "
          "y=\"{}\" width=\"{}\" "
          "height=\"{}\" fill=\"{}\"><title>true {}, predicted {}: {} ({:.1f}% of the "
          "row)</title></rect>\n",
          i, j, count, px(x), px(y), px(cell - 1), px(cell - 1), fill, html_escape(name(i)),
          html_escape(name(j)), count, 100 * frac);
      if (count > 0 && cell >= 18) {
        const bool dark = 0.12 + 0.88 * alpha > 0.55;
        out += fmt::format(
            "<text class=\"count\" x=\"{}\" y=\"{}\" text-anchor=\"middle\" "
            "font-size=\"{}\"{}>{}</text>\n",
            px(x + (cell - 1) / 2), px(y + (cell - 1) / 2 + font * 0.35), px(font),
            dark ? " fill=\"#ffffff\"" : "", count);
      }
    }
  }
  out += "</svg>\n";
  return out;
}

}  // namespace convkit::report
