// ProgressBar rendering (see progress.h).
#include <convkit/train/progress.h>

#include <fmt/format.h>

#include <unistd.h>

#include <cmath>

namespace convkit::train {

ProgressBar::ProgressBar(std::string label, std::int64_t total, std::FILE* out)
    : ProgressBar(std::move(label), total, out, isatty(fileno(out)) != 0) {}

ProgressBar::ProgressBar(std::string label, std::int64_t total, std::FILE* out, bool interactive,
                         std::chrono::milliseconds plain_interval)
    : label_(std::move(label)),
      total_(std::max<std::int64_t>(total, 1)),
      out_(out),
      interactive_(interactive),
      plain_interval_(plain_interval),
      start_(std::chrono::steady_clock::now()),
      last_draw_(interactive ? start_ - std::chrono::seconds(1) : start_) {}

double ProgressBar::elapsed() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

std::string ProgressBar::format_duration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "--:--";
  auto s = static_cast<long>(seconds + 0.5);
  if (s >= 3600) return fmt::format("{}:{:02d}:{:02d}", s / 3600, int(s / 60 % 60), int(s % 60));
  return fmt::format("{:02d}:{:02d}", int(s / 60), int(s % 60));
}

std::string ProgressBar::line(std::int64_t done, std::int64_t items, const MetricList& metrics,
                              bool final) const {
  const double t = elapsed();
  const double rate = t > 0 ? double(items) / t : 0;
  std::string out = label_;
  if (!interactive_ && !final) {  // a plain progress line
    const double eta = done > 0 ? t * double(total_ - done) / double(done) : NAN;
    out += fmt::format("  {}/{} ({:.0f}%)  {} elapsed  ETA {}  {:.0f} img/s", done, total_,
                       100.0 * double(done) / double(total_), format_duration(t),
                       format_duration(eta), rate);
  } else if (interactive_ && !final) {
    constexpr int kWidth = 24;
    const int filled = int(kWidth * double(done) / double(total_));
    out += fmt::format(" [{}{}] {}/{}", std::string(filled, '='), std::string(kWidth - filled, ' '),
                       done, total_);
    const double eta = done > 0 ? t * double(total_ - done) / double(done) : NAN;
    out += fmt::format("  {:.0f} img/s  ETA {}", rate, format_duration(eta));
  } else {
    out += fmt::format("  {}  {:.0f} img/s", format_duration(t), rate);
  }
  for (const auto& [name, value] : metrics) out += fmt::format("  {} {:.4f}", name, value);
  return out;
}

void ProgressBar::update(std::int64_t done, std::int64_t items_done, const MetricList& metrics) {
  auto now = std::chrono::steady_clock::now();
  if (!interactive_) {
    if (done >= total_ || now - last_draw_ < plain_interval_)
      return;  // finish() prints the last line
    last_draw_ = now;
    fmt::print(out_, "{}\n", line(done, items_done, metrics, false));
    std::fflush(out_);
    return;
  }
  if (done < total_ && now - last_draw_ < std::chrono::milliseconds(100)) return;
  last_draw_ = now;
  fmt::print(out_, "\r{}\033[K", line(done, items_done, metrics, false));
  std::fflush(out_);
}

void ProgressBar::note(const std::string& text) {
  // On a terminal the bar's line is replaced by the note; the next update redraws the bar below.
  fmt::print(out_, "{}{}\n", interactive_ ? "\r\033[K" : "", text);
  std::fflush(out_);
  if (interactive_) last_draw_ = {};
}

double ProgressBar::finish(std::int64_t items_done, const MetricList& metrics) {
  const double t = elapsed();
  if (interactive_)
    fmt::print(out_, "\r{}\033[K\n", line(total_, items_done, metrics, true));
  else
    fmt::print(out_, "{}\n", line(total_, items_done, metrics, true));
  std::fflush(out_);
  return t;
}

}  // namespace convkit::train
