// ThreadShare: the rule on measured windows (choose), its tries and pauses against a simulated
// machine (CPUs shared fairly between our team and other busy threads), and the Linux readers.
#include "train/thread_share.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <thread>
#include <vector>

namespace convkit::train {
namespace {

TEST(ThreadShareTest, ChooseKeepsTheTeamOnFreeCpus) {
  // 2 threads on 2 CPUs, 3% waiting: the machine's own noise.
  EXPECT_EQ(ThreadShare::choose(2, 2, 2, 1.0, 1.94, 0.06), 2);
  // Nothing runnable (the loop waited for data): no measurement, no change.
  EXPECT_EQ(ThreadShare::choose(2, 2, 2, 1.0, 0.01, 0.02), 2);
}

TEST(ThreadShareTest, ChooseLeavesOthersTheirCpus) {
  // 2 threads beside one busy process on 2 CPUs: each runnable thread gets 2/3 of a CPU.
  EXPECT_EQ(ThreadShare::choose(2, 2, 2, 1.0, 4.0 / 3, 2.0 / 3), 1);
  // Two trainings of 2 threads each: half a CPU per thread.
  EXPECT_EQ(ThreadShare::choose(2, 2, 2, 1.0, 1.0, 1.0), 1);
  // 16 threads on 16 CPUs beside 4 busy threads: 16/20 of a CPU each, 4 CPUs are taken.
  EXPECT_EQ(ThreadShare::choose(16, 16, 16, 1.0, 12.8, 3.2), 12);
  // Never below one thread, never above max.
  EXPECT_EQ(ThreadShare::choose(1, 2, 2, 1.0, 0.2, 0.8), 1);
  EXPECT_EQ(ThreadShare::choose(8, 4, 16, 1.0, 6.4, 1.6), 4);  // 16 - 12 others, capped at 4
}

TEST(ThreadShareTest, ChooseUndoesOversubscriptionByItsOwnThreads) {
  // 4 threads on 2 CPUs and no one else: they wait for each other, the others' demand is 0.
  EXPECT_EQ(ThreadShare::choose(4, 4, 2, 1.0, 2.0, 2.0), 2);
}

// CPUs shared fairly between our first `team` threads (always runnable: OpenMP threads spin at
// barriers) and `others` busy threads of other processes; time advances by step().
class Machine {
 public:
  Machine(int cpus, int max_threads) : cpus_(cpus), times_(std::size_t(max_threads)) {}
  void set_others(int others) { others_ = others; }
  void set_team(int team) { team_ = team; }
  void step(double seconds) {
    const double share = std::min(1.0, double(cpus_) / double(team_ + others_));
    for (int t = 0; t < team_; ++t) {
      times_[std::size_t(t)].ran += seconds * share;
      times_[std::size_t(t)].waited += seconds * (1 - share);
    }
    now_ += seconds;
  }
  ThreadShare::Reader reader() {
    return [this] {
      ThreadTimesByTid map;
      for (std::size_t t = 0; t < times_.size(); ++t) map[int(t) + 100] = times_[t];
      return std::optional<ThreadTimesByTid>(map);
    };
  }
  ThreadShare::Clock clock() {
    return [this] { return now_; };
  }
  ThreadShare::OthersView view() {
    return [this] { return std::optional<int>(others_); };
  }
  double now() const { return now_; }

 private:
  int cpus_, team_ = 0, others_ = 0;
  std::vector<ThreadTimes> times_;
  double now_ = 0;
};

struct Trace {
  std::vector<std::pair<double, int>> changes;  // (time, team size) of every decision applied
  std::vector<std::string> notes;
  int tries = 0;
};

// Steps of `step_seconds` from machine.now() to `until`, applying every decision.
void run(Machine& machine, ThreadShare& share, double until, Trace& trace,
         double step_seconds = 0.05) {
  machine.set_team(share.threads());
  while (machine.now() < until) {
    machine.step(step_seconds);
    if (auto d = share.after_step()) {
      if (d->threads != share.threads()) ADD_FAILURE() << "threads() must report the decision";
      if (d->note.empty() && d->threads == 2 && trace.changes.size() > 0) ++trace.tries;
      trace.changes.emplace_back(machine.now(), d->threads);
      if (!d->note.empty()) trace.notes.push_back(d->note);
      machine.set_team(d->threads);
    }
  }
}

TEST(ThreadShareTest, QuietMachineKeepsEveryThread) {
  Machine machine(2, 2);
  ThreadShare share({.max_threads = 2, .cpus = 2}, machine.reader(), machine.clock(), {});
  Trace trace;
  run(machine, share, 60, trace);
  EXPECT_TRUE(trace.changes.empty());
  EXPECT_EQ(share.threads(), 2);
  EXPECT_DOUBLE_EQ(share.last_share(), 1.0);
}

TEST(ThreadShareTest, ABusyNeighbourGetsItsCoreAndIsTriedAgainWithGrowingPauses) {
  Machine machine(2, 2);
  ThreadShare share({.max_threads = 2, .cpus = 2}, machine.reader(), machine.clock(), {});
  Trace trace;
  run(machine, share, 10, trace);
  machine.set_others(1);
  run(machine, share, 200, trace);
  ASSERT_FALSE(trace.changes.empty());
  // Down within the window in progress and the next one.
  EXPECT_EQ(trace.changes[0].second, 1);
  EXPECT_LT(trace.changes[0].first, 10 + 2.2);
  ASSERT_FALSE(trace.notes.empty());
  EXPECT_NE(trace.notes[0].find("threads 2 -> 1: other processes are using the CPUs"),
            std::string::npos)
      << trace.notes[0];
  // Tries at max after pauses of 5, 10, 20, 40, 80, 80 s (plus a window each): 6 in 190 s,
  // each back to one thread without a note.
  EXPECT_GE(trace.tries, 5);
  EXPECT_LE(trace.tries, 6);
  EXPECT_EQ(trace.notes.size(), 1u);
  EXPECT_EQ(share.threads(), 1);
  // Time spent at 2 threads while the neighbour ran: the tries' windows only.
  double at_two = 0;
  for (std::size_t i = 0; i < trace.changes.size(); ++i) {
    if (trace.changes[i].second != 2) continue;
    const double end = i + 1 < trace.changes.size() ? trace.changes[i + 1].first : 200;
    at_two += end - trace.changes[i].first;
  }
  EXPECT_LT(at_two, 6 * 2.2);
}

TEST(ThreadShareTest, TheTeamComesBackWhenTheNeighbourLeaves) {
  Machine machine(2, 2);
  ThreadShare share({.max_threads = 2, .cpus = 2}, machine.reader(), machine.clock(), {});
  Trace trace;
  machine.set_others(1);
  run(machine, share, 30, trace);
  ASSERT_EQ(share.threads(), 1);
  machine.set_others(0);
  run(machine, share, 150, trace);  // the pause is at most 80 s
  EXPECT_EQ(share.threads(), 2);
  ASSERT_FALSE(trace.notes.empty());
  EXPECT_EQ(trace.notes.back(), "threads 1 -> 2: the CPUs are free again");
  // Once back, the pause starts again from 5 s: a later neighbour is again left alone.
  machine.set_others(1);
  run(machine, share, 160, trace);
  EXPECT_EQ(share.threads(), 1);
}

TEST(ThreadShareTest, TwoTrainingsSettleOnOneThreadEach) {
  // Two processes of 2 threads each on 2 CPUs: each is the other's neighbour.
  Machine a(2, 2), b(2, 2);
  double now = 0;
  auto clock = [&now] { return now; };
  ThreadShare share_a({.max_threads = 2, .cpus = 2}, a.reader(), clock, {});
  ThreadShare share_b({.max_threads = 2, .cpus = 2}, b.reader(), clock, {});
  int team_a = 2, team_b = 2;
  double one_each = 0;
  for (int i = 0; i < 4000; ++i) {  // 200 s in steps of 50 ms
    a.set_team(team_a);
    a.set_others(team_b);
    b.set_team(team_b);
    b.set_others(team_a);
    a.step(0.05);
    b.step(0.05);
    now += 0.05;
    if (auto d = share_a.after_step()) team_a = d->threads;
    if (auto d = share_b.after_step()) team_b = d->threads;
    if (team_a == 1 && team_b == 1) one_each += 0.05;
  }
  EXPECT_EQ(team_a, 1);
  EXPECT_EQ(team_b, 1);
  EXPECT_GT(one_each, 0.85 * 200);
}

// With a view of the other processes' running threads (a machine of its own), a try waits for
// a window that saw a CPU free: none while the neighbour runs, and the team is back within a
// window or two of its leaving.
TEST(ThreadShareTest, WithAViewOfOthersNoTryWhileTheNeighbourRuns) {
  Machine machine(2, 2);
  ThreadShare share({.max_threads = 2, .cpus = 2}, machine.reader(), machine.clock(),
                    machine.view());
  Trace trace;
  run(machine, share, 10, trace);
  machine.set_others(1);
  run(machine, share, 200, trace);
  ASSERT_EQ(trace.changes.size(), 1u);
  EXPECT_EQ(trace.changes[0].second, 1);
  machine.set_others(0);
  run(machine, share, 202, trace);
  EXPECT_EQ(share.threads(), 2);
  EXPECT_EQ(trace.notes.back(), "threads 1 -> 2: the CPUs are free again");
}

// A view that sees a free CPU where the schedstat rule finds none (a neighbour it cannot see):
// tries still come only after the growing pauses.
TEST(ThreadShareTest, AViewThatMissesTheNeighbourStillPausesBetweenTries) {
  Machine machine(2, 2);
  ThreadShare share({.max_threads = 2, .cpus = 2}, machine.reader(), machine.clock(),
                    [] { return std::optional<int>(0); });
  Trace trace;
  machine.set_others(1);
  run(machine, share, 200, trace);
  EXPECT_GE(trace.tries, 5);
  EXPECT_LE(trace.tries, 7);
  EXPECT_EQ(share.threads(), 1);
}

TEST(ThreadShareTest, OthersRunningCountsOtherProcessesThreads) {
  const auto others = others_running();
  if (!others) GTEST_SKIP() << "/proc/stat covers more CPUs than this process may use";
  EXPECT_GE(*others, 0);
  // A spinning child process is running on one of our CPUs: seen (at least mostly).
  const pid_t child = fork();
  if (child == 0) {
    for (;;) {
    }
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  int seen = 0;
  for (int i = 0; i < 20; ++i) {
    seen += others_running().value_or(0) >= 1;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  kill(child, SIGKILL);
  waitpid(child, nullptr, 0);
  EXPECT_GE(seen, 15);
}

TEST(ThreadShareTest, WithoutSchedstatTheTeamStaysAtMax) {
  double now = 0;
  ThreadShare share(
      {.max_threads = 4, .cpus = 4}, [] { return std::optional<ThreadTimesByTid>(); },
      [&now] { return now; }, {});
  for (int i = 0; i < 100; ++i) {
    now += 0.1;
    EXPECT_FALSE(share.after_step().has_value());
  }
  EXPECT_FALSE(share.enabled());
  EXPECT_EQ(share.threads(), 4);
}

TEST(ThreadShareTest, ReadsThisProcesssThreads) {
  const auto before = read_thread_times();
  ASSERT_TRUE(before.has_value()) << "/proc/self/task/*/schedstat unreadable";
  const int tid = int(gettid());
  ASSERT_TRUE(before->contains(tid));
  // 30 ms of this thread's own CPU time (not wall time: on a busy machine the thread may get
  // only part of the wall clock, and the test must not depend on the neighbours).
  auto cpu_seconds = [] {
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return double(ts.tv_sec) + double(ts.tv_nsec) * 1e-9;
  };
  const double spin_until = cpu_seconds() + 0.03;
  volatile double sink = 0;
  while (cpu_seconds() < spin_until) sink = sink + 1;
  const auto after = read_thread_times();
  ASSERT_TRUE(after.has_value());
  EXPECT_GT(after->at(tid).ran, before->at(tid).ran + 0.01);
  EXPECT_GE(after->at(tid).waited, before->at(tid).waited);
}

TEST(ThreadShareTest, AvailableCpusIsTheAffinityMaskAtMost) {
  const int cpus = available_cpus();
  EXPECT_GE(cpus, 1);
  EXPECT_LE(cpus, int(std::max(1u, std::thread::hardware_concurrency())));
}

}  // namespace
}  // namespace convkit::train
