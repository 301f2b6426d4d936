// A study in PostgreSQL: the test starts its own server (initdb + pg_ctl from Debian's
// postgresql package, a Unix socket in a temporary folder, trust authentication; as root, the
// server runs as the `postgres` user), then two `convkit tune` processes of one worker each share
// one study through it: every trial runs once, numbers are not repeated, and the results read
// back the same from either side. Skipped, saying why, when no server binaries are installed.
#include <convkit/data/dataset.h>
#include <convkit/tune/study.h>

#include "e2e/cli_run.h"
#include "run/run_test_util.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <fmt/format.h>
#include <cstdlib>
#include <fstream>
#include <future>
#include <set>
#include <string>

namespace convkit {
namespace {

namespace fs = std::filesystem;
using testing::run_cli;

fs::path postgres_bin() {
  if (!fs::is_directory("/usr/lib/postgresql")) return {};
  for (const auto& version : fs::directory_iterator("/usr/lib/postgresql"))
    if (fs::exists(version.path() / "bin/initdb")) return version.path() / "bin";
  return {};
}

class TunePostgres : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    bin_ = postgres_bin();
    if (bin_.empty()) return;
    root_ = fs::temp_directory_path() / ("convkit_pg_" + std::to_string(::getpid()));
    fs::create_directories(root_ / "data");
    const std::string as = ::geteuid() == 0 ? "runuser -u postgres -- " : "";
    if (::geteuid() == 0) std::system(("chown -R postgres " + root_.string()).c_str());
    port_ = 20000 + ::getpid() % 20000;
    const std::string db = (root_ / "db").string();
    const std::string init = as + (bin_ / "initdb").string() + " -D " + db +
                             " -A trust -U postgres > " + (root_ / "initdb.log").string() + " 2>&1";
    const std::string start = as + (bin_ / "pg_ctl").string() + " -D " + db + " -l " +
                              (root_ / "server.log").string() + " -w -o \"-k " + root_.string() +
                              " -p " + std::to_string(port_) +
                              " -c listen_addresses=''\" start > /dev/null 2>&1";
    started_ = std::system(init.c_str()) == 0 && std::system(start.c_str()) == 0;
    run::testing::write_bars_files(root_ / "data", 600, 100, /*threads=*/1);
    std::ofstream(root_ / "spec.yaml") << R"(config: bars.yaml
set: [train.epochs=2]
objective: val_accuracy
max_trials: 6
searcher: random
seed: 5
space:
  - {name: filters, key: model.layers.0.filters, type: int, low: 4, high: 16, step: 4}
  - {name: lr, key: train.optimizer.lr, type: float, low: 0.001, high: 0.03, log: true}
)";
  }
  static void TearDownTestSuite() {
    if (bin_.empty()) return;
    const std::string as = ::geteuid() == 0 ? "runuser -u postgres -- " : "";
    std::system((as + (bin_ / "pg_ctl").string() + " -D " + (root_ / "db").string() +
                 " -m immediate stop > /dev/null 2>&1")
                    .c_str());
    fs::remove_all(root_);
  }
  void SetUp() override {
    if (bin_.empty()) GTEST_SKIP() << "no PostgreSQL server binaries (scripts/setup installs them)";
    ASSERT_TRUE(started_) << "the test's PostgreSQL server did not start; see "
                          << (root_ / "server.log");
  }
  static std::string url(const std::string& db = "postgres") {
    return "postgresql://postgres@/" + db + "?host=" + root_.string() +
           "&port=" + std::to_string(port_);
  }
  static fs::path bin_, root_;
  static int port_;
  static bool started_;
};
fs::path TunePostgres::bin_, TunePostgres::root_;
int TunePostgres::port_ = 0;
bool TunePostgres::started_ = false;

TEST_F(TunePostgres, TwoProcessesShareOneStudy) {
  const std::string args = "tune -q --config " + (root_ / "spec.yaml").string() + " --data " +
                           (root_ / "data").string() + " --threads 1 --storage '" + url() + "'";
  // The first process creates the study; the second joins it (--resume) while it runs.
  auto first = std::async(std::launch::async,
                          [&] { return run_cli(args + " --out " + (root_ / "a").string()); });
  for (int i = 0; i < 200; ++i) {  // until the study exists
    try {
      tune::Study::open(url());
      break;
    } catch (const std::exception&) {
      ::usleep(50000);
    }
  }
  const auto second = run_cli(args + " --resume --out " + (root_ / "b").string());
  const auto a = first.get();
  ASSERT_EQ(a.code, 0) << a.output;
  ASSERT_EQ(second.code, 0) << second.output;
  const auto trials = tune::Study::open(url()).trials();
  ASSERT_EQ(trials.size(), 6u);
  std::set<std::string> owners;
  for (std::size_t i = 0; i < trials.size(); ++i) {
    EXPECT_EQ(trials[i].number, int(i));
    EXPECT_EQ(trials[i].state, tune::TrialState::Complete) << trials[i].error;
    EXPECT_GT(*trials[i].value, 0.25);
    owners.insert(trials[i].owner.substr(0, trials[i].owner.rfind(':')));
    // Each trial ran in exactly one of the two processes' folders.
    const std::string run = fmt::format("trials/{:04d}/run-1/history.csv", i);
    EXPECT_NE(fs::exists(root_ / "a" / run), fs::exists(root_ / "b" / run)) << run;
  }
  EXPECT_EQ(owners.size(), 2u) << "both processes ran trials";
  // A second study in the same database is refused; a wrong URL is a clear error.
  auto r = run_cli(args + " --out " + (root_ / "c").string());
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_NE(r.output.find("a study is there already"), std::string::npos) << r.output;
  r = run_cli(args.substr(0, args.find("--storage")) + "--storage '" + url("nosuchdb") +
              "' --out " + (root_ / "d").string());
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_NE(r.output.find("nosuchdb"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace convkit
