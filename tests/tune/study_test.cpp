// The study file: trials numbered once across connections, executions and states kept, a dead
// worker's trial claimed again (and only then), and files that are not studies named as such.
#include <convkit/run/errors.h>
#include <convkit/tune/study.h>

#include "run/run_test_util.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>

namespace convkit::tune {
namespace {

using run::testing::TempDir;

Study::Proposer fixed(double units) {
  return [units](const std::vector<Trial>&, int) { return Assignment{{"units", units}}; };
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const run::ConfigError& e) {
    return e.what();
  }
  return "";
}

TEST(TuneStudy, TrialsAreNumberedOnceAcrossConnectionsAndKeepTheirResults) {
  TempDir tmp;
  const auto file = tmp.path / "study.db";
  Study a = Study::create(file, "spec: 1");
  Study b = Study::open(file);
  EXPECT_EQ(b.spec_text(), "spec: 1");
  const auto t0 = a.claim("host:1:a", 3, true, fixed(32));
  const auto t1 = b.claim("host:1:b", 3, true, fixed(64));
  const auto t2 = a.claim("host:1:a", 3, true, fixed(96));
  ASSERT_TRUE(t0 && t1 && t2);
  EXPECT_EQ(t0->number, 0);
  EXPECT_EQ(t1->number, 1);
  EXPECT_EQ(t2->number, 2);
  EXPECT_FALSE(b.claim("host:1:b", 3, true, fixed(1)));  // max_trials reached
  a.add_execution(1, 0.5, 2.0);
  a.add_execution(1, 0.7, 3.0);
  a.complete(1, 0.6);
  b.fail(2, "it broke");
  const auto trials = Study::open(file).trials();
  ASSERT_EQ(trials.size(), 3u);
  EXPECT_EQ(trials[1].params.at("units"), 64);
  EXPECT_EQ(trials[1].executions, (std::vector<double>{0.5, 0.7}));
  EXPECT_EQ(trials[1].state, TrialState::Complete);
  EXPECT_DOUBLE_EQ(*trials[1].value, 0.6);
  EXPECT_DOUBLE_EQ(trials[1].seconds, 5.0);
  EXPECT_EQ(trials[2].state, TrialState::Failed);
  EXPECT_EQ(trials[2].error, "it broke");
  EXPECT_EQ(trials[0].state, TrialState::Running);
}

TEST(TuneStudy, ATrialIsClaimedAgainOnlyWhenItsWorkerIsGone) {
  TempDir tmp;
  Study s = Study::create(tmp.path / "study.db", "x");
  char host[256] = {};
  ::gethostname(host, sizeof host - 1);
  const pid_t child = ::fork();
  if (child == 0) ::_exit(0);
  ::waitpid(child, nullptr, 0);  // a pid that no longer runs
  const std::string dead = std::string(host) + ":" + std::to_string(child) + ":t";
  const std::string alive = std::string(host) + ":" + std::to_string(::getpid()) + ":t";
  ASSERT_TRUE(s.claim(alive, 2, true, fixed(2)));
  ASSERT_TRUE(s.claim(dead, 2, true, fixed(1)));
  s.add_execution(1, 0.25, 1.0);
  const auto again = s.claim("me", 2, true, fixed(3));
  ASSERT_TRUE(again);
  EXPECT_EQ(again->number, 1);  // the dead worker's, with its execution
  EXPECT_EQ(again->executions, (std::vector<double>{0.25}));
  EXPECT_EQ(again->params.at("units"), 1);
  EXPECT_FALSE(s.claim("me", 2, true, fixed(3)));  // trial 0's worker is alive and beating
  EXPECT_TRUE(s.claim("me", 2, true, fixed(3), /*stale_seconds=*/0));  // silent too long
}

TEST(TuneStudy, FilesThatAreNoStudyAreNamedErrors) {
  TempDir tmp;
  EXPECT_NE(error_of([&] { Study::open(tmp.path / "none.db"); }).find("none.db: no such file"),
            std::string::npos);
  std::ofstream(tmp.path / "junk.db") << std::string(5000, 'x');
  EXPECT_NE(error_of([&] { Study::open(tmp.path / "junk.db"); }).find("not a SQLite database"),
            std::string::npos);
  Study::create(tmp.path / "s.db", "x");
  EXPECT_NE(error_of([&] { Study::create(tmp.path / "s.db", "x"); }).find("--resume"),
            std::string::npos);
  // Truncated: the header survives, the tables do not.
  std::filesystem::resize_file(tmp.path / "s.db", 1000);
  std::filesystem::remove(tmp.path / "s.db-wal");
  EXPECT_NE(error_of([&] { Study::open(tmp.path / "s.db").trials(); }), "");
}

}  // namespace
}  // namespace convkit::tune
