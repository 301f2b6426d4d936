// `convkit tune` end to end: a study killed with SIGKILL in the middle of a trial and continued
// with --resume ends with the same trials and results as one left alone; two workers share a
// study; a bad spec or a corrupt study file is exit 2 with the reason.
#include <convkit/data/dataset.h>

#include "e2e/cli_run.h"
#include "run/run_test_util.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>

namespace convkit {
namespace {

namespace fs = std::filesystem;
using testing::run_cli;

std::string read(const fs::path& p) {
  std::stringstream s;
  s << std::ifstream(p).rdbuf();
  return s.str();
}

// trials.csv without its seconds column (times differ between runs).
std::string results_of(const fs::path& csv) {
  std::stringstream in(read(csv)), out;
  for (std::string line; std::getline(in, line);) {
    std::stringstream cells(line);
    std::vector<std::string> c;
    for (std::string cell; std::getline(cells, cell, ',');) c.push_back(cell);
    if (c.size() >= 3) c.erase(c.end() - 2);  // seconds (before error)
    for (const auto& cell : c) out << cell << ",";
    out << "\n";
  }
  return out.str();
}

class TuneCli : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    root_ = fs::temp_directory_path() / ("convkit_tune_e2e_" + std::to_string(::getpid()));
    run::testing::write_bars_files(root_ / "data", 800, 200);
    std::ofstream(root_ / "spec.yaml") << R"(config: bars.yaml
set: [train.epochs=3]
objective: val_accuracy
max_trials: 3
executions_per_trial: 1
searcher: {type: tpe, startup_trials: 2}
seed: 3
space:
  - {name: filters, key: model.layers.0.filters, type: int, low: 4, high: 16, step: 4}
  - {name: lr, key: train.optimizer.lr, type: float, low: 0.001, high: 0.03, log: true}
)";
  }
  static void TearDownTestSuite() { fs::remove_all(root_); }
  static std::string tune_args(const std::string& out) {
    return "tune --config " + (root_ / "spec.yaml").string() + " --data " +
           (root_ / "data").string() + " --out " + (root_ / out).string();
  }
  static fs::path root_;
};
fs::path TuneCli::root_;

TEST_F(TuneCli, SigkillInATrialThenResumeEndsAsIfUninterrupted) {
  auto r = run_cli(tune_args("whole") + " --threads 2");
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("best: trial"), std::string::npos) << r.output;
  EXPECT_TRUE(fs::exists(root_ / "whole/best.yaml"));
  // 640 training images, batch 32: 20 steps an epoch; step 30 is in the middle of epoch 2 of the
  // first trial, after its epoch-1 checkpoint.
  r = run_cli(tune_args("killed") + " --threads 2", "CONVKIT_FAULT_AT_STEP=30:9");
  ASSERT_EQ(r.code, 128 + 9) << r.output;
  ASSERT_TRUE(fs::exists(root_ / "killed/trials/0000/run-1/checkpoints/last.ckpt"));
  r = run_cli(tune_args("killed") + " --threads 2 --resume");
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("trial 0 continues"), std::string::npos) << r.output;
  EXPECT_EQ(results_of(root_ / "killed/trials.csv"), results_of(root_ / "whole/trials.csv"));
  EXPECT_EQ(read(root_ / "killed/trials/0000/run-1/history.csv").size(),
            read(root_ / "whole/trials/0000/run-1/history.csv").size());
}

TEST_F(TuneCli, TwoWorkersShareOneStudy) {
  const auto r = run_cli(tune_args("two") + " --workers 2");
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("2 workers x 1 thread"), std::string::npos) << r.output;
  const auto csv = read(root_ / "two/trials.csv");
  EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 4) << csv;
  EXPECT_EQ(csv.find("running"), std::string::npos) << csv;
  EXPECT_EQ(csv.find("failed"), std::string::npos) << csv;
}

TEST_F(TuneCli, BadSpecsAndStudiesAreExit2WithTheReason) {
  std::ofstream(root_ / "bad.yaml")
      << "config: bars.yaml\nspace: [{key: "
         "train.optimizer.lr, type: float, low: 0, high: 1, log: true}]\n";
  auto r = run_cli("tune --config " + (root_ / "bad.yaml").string() + " --out " +
                   (root_ / "bad").string());
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_NE(r.output.find("a log range must be above 0"), std::string::npos) << r.output;
  fs::create_directories(root_ / "corrupt");
  std::ofstream(root_ / "corrupt/study.db") << std::string(4096, 'z');
  r = run_cli(tune_args("corrupt") + " --resume");
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_NE(r.output.find("corrupt/study.db"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("not a SQLite database"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace convkit
