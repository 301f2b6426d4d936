// Progress display for long loops: on a terminal, a bar redrawn in place (at most ~10 times a
// second) with rate, ETA and running metrics; otherwise (a pipe, a log file, CI) a plain line
// every few seconds (done/total, percent, elapsed, ETA, rate, metrics), so a long epoch shows
// it is alive without flooding the log, and one summary line at finish().
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>
#include <utility>
#include <vector>

namespace convkit::train {

using MetricList = std::vector<std::pair<std::string, double>>;

class ProgressBar {
 public:
  // `total` steps of `items_per_step` items each (images per batch) for the rate.
  ProgressBar(std::string label, std::int64_t total, std::FILE* out = stdout);
  ProgressBar(std::string label, std::int64_t total, std::FILE* out, bool interactive,
              std::chrono::milliseconds plain_interval = kPlainInterval);

  // How often a non-terminal output gets a line.
  static constexpr std::chrono::milliseconds kPlainInterval{5000};

  void update(std::int64_t done, std::int64_t items_done, const MetricList& metrics);
  // A line of its own (above the bar on a terminal), e.g. a change of thread count.
  void note(const std::string& text);
  // Prints the final line (always) and returns the elapsed seconds.
  double finish(std::int64_t items_done, const MetricList& metrics);

  bool interactive() const { return interactive_; }

  // "1:02:03" / "02:03" for ETA and elapsed time.
  static std::string format_duration(double seconds);

 private:
  std::string line(std::int64_t done, std::int64_t items, const MetricList& metrics,
                   bool final) const;
  double elapsed() const;

  std::string label_;
  std::int64_t total_;
  std::FILE* out_;
  bool interactive_;
  std::chrono::milliseconds plain_interval_;
  std::chrono::steady_clock::time_point start_, last_draw_;
};

}  // namespace convkit::train
