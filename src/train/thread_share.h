// ThreadShare: how many OpenMP threads a training run uses, decided while it runs, so that it
// shares the CPUs with other busy processes (a second training, a tuner's trials, a compiler)
// instead of fighting them.
//
// Why: an OpenMP team waits for its slowest thread at every barrier. When another process takes
// a core, one of our threads gets only part of it, and the whole team moves at that thread's
// pace while the others spin. Measured on 2 cores: mnist_cnn with 2 threads kept 39-45% of its
// quiet images/s beside one busy process, and two trainings of mnist_fast with 2 threads each fell
// to 2-5% of one alone. One thread per free CPU avoids the fight.
//
// The rule, applied at step boundaries once per window (>= 0.5 s; the first step after a change is
// not measured, its kernels are built then). Linux's schedstat gives, for every thread of this
// process, the time it ran and the time it waited, runnable, for a CPU. Over the window:
//   R = our runnable threads on average   = (ran + waited) / wall
//   f = the share of that time we got     = ran / (ran + waited)
//   - f < kBusyShare: others want the CPUs. With fair sharing every runnable thread gets f of a
//     CPU, so C / f threads are runnable in all (C = the CPUs this process may use) and others
//     K = C / f - R; the team becomes clamp(C - round(K), 1, max).
//   - f >= kBusyShare with fewer than max threads: after a pause (5 s, doubled after every try
//     that finds the CPUs still taken, at most 80 s, back to 5 s after one that succeeds) it
//     tries max threads for one window; that window's f decides by the rule above.
// A try costs: its window runs the team against the neighbour (measured: a 2-thread try beside a
// busy process cost ~0.6 s of training each). So where /proc/stat describes exactly the CPUs this
// process may use (a machine or VM of its own, not a container's slice of a bigger host), the
// other processes' running threads are also counted at every step boundary of a window (all
// runnable threads minus ours); a try then waits until a whole window saw a CPU free for it, and
// starts as soon as one did (the pause then only follows a try that failed).
// Where schedstat cannot be read (not Linux, no /proc) the team stays at max.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>

namespace convkit::train {

// One thread's cumulative scheduler times, seconds.
struct ThreadTimes {
  double ran = 0, waited = 0;
};
using ThreadTimesByTid = std::map<int, ThreadTimes>;

// /proc/self/task/*/schedstat; nullopt where it cannot be read.
std::optional<ThreadTimesByTid> read_thread_times();
// The CPUs this process may use: its affinity mask, capped by a cgroup v2 CPU quota.
int available_cpus();
// Runnable threads of other processes now (/proc/stat's procs_running minus this process's
// threads in state R); nullopt where /proc/stat's CPUs are not exactly available_cpus().
std::optional<int> others_running();

class ThreadShare {
 public:
  static constexpr double kBusyShare = 0.85;

  struct Options {
    int max_threads = 1;  // the team size when the CPUs are free
    int cpus = 1;         // C in the rule (available_cpus())
    double window_seconds = 0.5;
    double first_pause_seconds = 5.0;
    double max_pause_seconds = 80.0;
  };
  using Reader = std::function<std::optional<ThreadTimesByTid>()>;
  using Clock = std::function<double()>;                   // seconds, monotonic
  using OthersView = std::function<std::optional<int>()>;  // others_running()

  explicit ThreadShare(Options options, Reader reader = read_thread_times, Clock clock = {},
                       OthersView others = others_running);

  // The rule's choice for one window (pure; see the top of this file).
  static int choose(int threads, int max_threads, int cpus, double wall, double ran, double waited);

  bool enabled() const { return enabled_; }
  void disable() { enabled_ = false; }
  int threads() const { return threads_; }
  struct Decision {
    int threads;  // the team size from the next step on (may equal the current one)
    // Why, for the log; empty for a try at max threads and for going back from one.
    std::string note;
  };
  // Call after every training step: a decision when there is one (apply it before the next
  // step), else nullopt.
  std::optional<Decision> after_step();
  double last_share() const { return share_; }  // f of the last measured window

 private:
  std::optional<Decision> change_to(int next, std::string note);
  void sample_others();

  Options options_;
  Reader reader_;
  Clock clock_;
  OthersView others_;
  bool others_valid_ = true;  // the view answered so far
  int most_others_ = 0;       // the most other running threads seen in the open window
  bool enabled_ = true;
  int threads_;
  bool measuring_ = false;  // a window is open (false: the next step starts one)
  double window_start_ = 0;
  ThreadTimesByTid base_;
  double last_change_ = 0;
  double last_failed_try_ = -1e300;
  double pause_;
  bool trying_ = false;  // the open window runs a try at max threads
  int before_try_ = 0;
  double share_ = 1.0;
};

}  // namespace convkit::train
