// ThreadShare: the team-size rule of thread_share.h and the Linux readers it measures with.
#include "train/thread_share.h"

#include <fmt/format.h>
#include <sched.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <thread>

namespace convkit::train {

namespace fs = std::filesystem;

std::optional<ThreadTimesByTid> read_thread_times() {
  std::error_code ec;
  fs::directory_iterator it("/proc/self/task", ec);
  if (ec) return std::nullopt;
  ThreadTimesByTid times;
  for (const auto& entry : it) {
    const std::string tid = entry.path().filename().string();
    std::ifstream in(entry.path() / "schedstat");
    double ran_ns = 0, waited_ns = 0;
    if (!(in >> ran_ns >> waited_ns)) continue;  // the thread ended since the listing
    times[std::atoi(tid.c_str())] = {ran_ns * 1e-9, waited_ns * 1e-9};
  }
  if (times.empty()) return std::nullopt;
  return times;
}

int available_cpus() {
  int cpus = 0;
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) == 0) cpus = CPU_COUNT(&set);
  if (cpus <= 0) cpus = int(std::max(1u, std::thread::hardware_concurrency()));
  // cgroup v2: "max 100000" (no quota) or "<quota> <period>" in microseconds.
  std::ifstream max_file("/sys/fs/cgroup/cpu.max");
  std::string quota;
  double period = 0;
  if (max_file >> quota >> period && quota != "max" && period > 0) {
    const double q = std::atof(quota.c_str());
    if (q > 0) cpus = std::min(cpus, std::max(1, int(std::ceil(q / period))));
  }
  return cpus;
}

std::optional<int> others_running() {
  static const bool valid = [] {
    std::ifstream stat("/proc/stat");
    int cpu_lines = 0;
    for (std::string line; std::getline(stat, line);)
      if (line.size() > 3 && line.compare(0, 3, "cpu") == 0 && std::isdigit(line[3])) ++cpu_lines;
    return cpu_lines == available_cpus();
  }();
  if (!valid) return std::nullopt;
  int running = -1;
  {
    std::ifstream stat("/proc/stat");
    for (std::string key; stat >> key;) {
      if (key == "procs_running") {
        stat >> running;
        break;
      }
      stat.ignore(std::numeric_limits<std::streamsize>::max(), '\n');
    }
  }
  if (running < 0) return std::nullopt;
  int ours = 0;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator("/proc/self/task", ec)) {
    std::ifstream in(entry.path() / "stat");
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const auto close = text.rfind(')');  // "tid (comm) S ...": comm may hold anything
    if (close != std::string::npos && close + 2 < text.size() && text[close + 2] == 'R') ++ours;
  }
  if (ec) return std::nullopt;
  return std::max(0, running - ours);
}

ThreadShare::ThreadShare(Options options, Reader reader, Clock clock, OthersView others)
    : options_(options),
      reader_(std::move(reader)),
      clock_(std::move(clock)),
      others_(std::move(others)),
      threads_(std::max(1, options.max_threads)),
      pause_(options.first_pause_seconds) {
  options_.max_threads = threads_;
  options_.cpus = std::max(1, options_.cpus);
  if (!clock_)
    clock_ = [] {
      return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch())
          .count();
    };
  last_change_ = clock_();
}

int ThreadShare::choose(int threads, int max_threads, int cpus, double wall, double ran,
                        double waited) {
  const double runnable = ran + waited;
  if (wall <= 0 || runnable < 0.05 * wall) return threads;  // (almost) idle: nothing measured
  const double share = ran / runnable;
  if (share >= kBusyShare) return threads;
  if (share < 1e-3) return 1;
  const double others = std::max(0.0, cpus / share - runnable / wall);
  return std::clamp(cpus - int(std::lround(others)), 1, std::max(1, max_threads));
}

void ThreadShare::sample_others() {
  if (!others_valid_ || threads_ >= options_.max_threads || !others_) return;
  const auto others = others_();
  if (!others) {
    others_valid_ = false;
    return;
  }
  most_others_ = std::max(most_others_, *others);
}

std::optional<ThreadShare::Decision> ThreadShare::change_to(int next, std::string note) {
  threads_ = next;
  measuring_ = false;  // the next step builds kernels: the window opens after it
  return Decision{next, std::move(note)};
}

std::optional<ThreadShare::Decision> ThreadShare::after_step() {
  if (!enabled_) return std::nullopt;
  const double now = clock_();
  if (!measuring_) {
    auto times = reader_();
    if (!times) {
      enabled_ = false;
      return std::nullopt;
    }
    base_ = std::move(*times);
    window_start_ = now;
    measuring_ = true;
    most_others_ = 0;
    sample_others();
    return std::nullopt;
  }
  sample_others();
  const double wall = now - window_start_;
  if (wall < options_.window_seconds) return std::nullopt;
  auto times = reader_();
  if (!times) {
    enabled_ = false;
    return std::nullopt;
  }
  double ran = 0, waited = 0;
  for (const auto& [tid, now_times] : *times) {
    const auto before = base_.find(tid);
    const ThreadTimes start = before == base_.end() ? ThreadTimes{} : before->second;
    ran += std::max(0.0, now_times.ran - start.ran);
    waited += std::max(0.0, now_times.waited - start.waited);
  }
  base_ = std::move(*times);
  window_start_ = now;
  const int most_others = most_others_;
  most_others_ = 0;

  const double runnable = ran + waited;
  const bool measured = runnable >= 0.05 * wall;
  if (measured) share_ = ran / runnable;
  const bool busy = measured && share_ < kBusyShare;
  const int next = choose(threads_, options_.max_threads, options_.cpus, wall, ran, waited);
  auto busy_note = [&](int from, int to) {
    return fmt::format(
        "threads {} -> {}: other processes are using the CPUs (our threads waited for one {:.0f}% "
        "of the time they were ready to run)",
        from, to, 100 * (1 - share_));
  };

  if (trying_) {
    trying_ = false;
    last_change_ = now;
    if (!busy) {
      pause_ = options_.first_pause_seconds;
      return Decision{threads_, fmt::format("threads {} -> {}: the CPUs are free again",
                                            before_try_, threads_)};
    }
    pause_ = std::min(2 * pause_, options_.max_pause_seconds);
    last_failed_try_ = now;
    return change_to(next, next == before_try_ ? std::string() : busy_note(before_try_, next));
  }
  if (busy && next != threads_) {
    last_change_ = now;
    return change_to(next, busy_note(threads_, next));
  }
  // With the view of other processes: try when a whole window saw a CPU free for one more
  // thread (the pause still bounds how often tries that fail can come).
  const bool paused =
      others_valid_ && others_ ? now - last_failed_try_ < pause_ : now - last_change_ < pause_;
  const bool room_seen = !others_valid_ || !others_ || most_others < options_.cpus - threads_;
  if (!busy && threads_ < options_.max_threads && !paused && room_seen) {
    trying_ = true;
    before_try_ = threads_;
    return change_to(options_.max_threads, {});
  }
  return std::nullopt;
}

}  // namespace convkit::train
