// Data-parallel training from the CLI (`convkit train --nproc 2`, i.e. mpirun -np 2): rank 0
// alone writes the run directory; a rank killed mid-epoch ends the job quickly with a message
// naming it, and the resumed job ends with the weights of an uninterrupted one; resuming with
// another number of ranks is refused plainly. Skipped when mpirun is not installed.
#include <convkit/data/dataset.h>
#include <convkit/io/checkpoint.h>

#include <gtest/gtest.h>

#include "e2e/bars.h"
#include "e2e/cli_run.h"
#include "e2e/run_files.h"

#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace convkit {
namespace {

namespace fs = std::filesystem;
using testing::read_file;

class DistCliTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    root_ = fs::temp_directory_path() / ("convkit_dist_e2e_" + std::to_string(::getpid()));
    testing::write_bars_idx(root_ / "data");
    std::ofstream(root_ / "tiny.yaml") << testing::kTinyConfig;
  }
  static void TearDownTestSuite() { fs::remove_all(root_); }
  void SetUp() override {
    if (std::system("command -v mpirun > /dev/null 2>&1") != 0)
      GTEST_SKIP() << "mpirun is not installed (scripts/setup installs openmpi-bin)";
  }
  static std::string train_args(const std::string& out, int ranks) {
    // The bars CNN without dropout (its masks are per rank) and one thread per rank, so runs
    // compare bit for bit.
    return "train -q --nproc " + std::to_string(ranks) + " --config " +
           (root_ / "tiny.yaml").string() + " --data " + (root_ / "data").string() + " --out " +
           (root_ / out).string() + " --set model.layers.5.rate=0 --set train.threads=1";
  }
  static std::string resume_args(const std::string& out, int ranks) {
    return "train -q --nproc " + std::to_string(ranks) + " --resume " + (root_ / out).string() +
           " --data " + (root_ / "data").string();
  }
  static fs::path root_;
};
fs::path DistCliTest::root_;

TEST_F(DistCliTest, TwoRanksTrainAndRankZeroAloneWrites) {
  const auto r = testing::run_cli(train_args("two", 2) + " --seed 3");
  ASSERT_EQ(r.code, 0) << r.output;
  // One test-accuracy line: the other rank printed nothing of its own.
  const auto first = r.output.find("test accuracy");
  ASSERT_NE(first, std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("test accuracy", first + 1), std::string::npos) << r.output;
  for (const char* f : {"config.yaml", "history.csv", "metrics.json", "checkpoints/last.ckpt",
                        "checkpoints/best.ckpt", "report.html"})
    EXPECT_TRUE(fs::exists(root_ / "two" / f)) << f;
  const std::string history = read_file(root_ / "two/history.csv");
  EXPECT_EQ(std::count(history.begin(), history.end(), '\n'), 4) << history;  // header + 3 epochs
  EXPECT_EQ(io::load_checkpoint(root_ / "two/checkpoints/last.ckpt").contents.epoch, 3);
}

// Validation split among the ranks (each scores its share, the counts are summed) gives the
// figures of one process; with synchronised batch norm the two runs train alike too.
TEST_F(DistCliTest, ValidationSharedAmongRanksMatchesOneProcess) {
  const std::string opts =
      " --seed 5 --set dataset.validation_split=0.2 --set train.distributed.sync_batch_norm=true";
  auto r = testing::run_cli(train_args("val2", 2) + opts);
  ASSERT_EQ(r.code, 0) << r.output;
  r = testing::run_cli(train_args("val1", 1) + opts);
  ASSERT_EQ(r.code, 0) << r.output;
  const std::string two = read_file(root_ / "val2/history.csv"),
                    one = read_file(root_ / "val1/history.csv");
  auto column = [](const std::string& csv, int col) {
    std::vector<double> v;
    std::istringstream lines(csv);
    std::string line;
    std::getline(lines, line);  // header
    while (std::getline(lines, line)) {
      std::istringstream cells(line);
      std::string cell;
      for (int i = 0; i <= col; ++i) std::getline(cells, cell, ',');
      v.push_back(std::stod(cell));
    }
    return v;
  };
  const auto acc2 = column(two, 4), acc1 = column(one, 4);  // val_accuracy
  const auto loss2 = column(two, 3), loss1 = column(one, 3);
  ASSERT_EQ(acc2.size(), 3u) << two;
  ASSERT_EQ(acc1.size(), 3u) << one;
  for (std::size_t e = 0; e < 3; ++e) {
    EXPECT_NEAR(acc2[e], acc1[e], 0.0026) << "epoch " << e + 1 << "\n" << two << one;  // 1 of 400
    EXPECT_NEAR(loss2[e], loss1[e], 1e-3) << "epoch " << e + 1 << "\n" << two << one;
  }
}

TEST_F(DistCliTest, KilledRankEndsTheJobAndTheResumedJobEndsAtTheSameWeights) {
  // 2000 images / global batch 50 = 40 steps per epoch; rank 1 dies in epoch 3 (step 100).
  auto r = testing::run_cli(train_args("full", 2) + " --seed 7");
  ASSERT_EQ(r.code, 0) << r.output;
  const auto start = std::chrono::steady_clock::now();
  r = testing::run_cli(train_args("killed", 2) + " --seed 7",
                       "CONVKIT_FAULT_AT_STEP=100:9 CONVKIT_FAULT_RANK=1 timeout 120");
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_NE(r.code, 0) << r.output;
  EXPECT_NE(r.code, 124) << "the job hung until timeout: " << r.output;
  EXPECT_LT(seconds, 60) << r.output;  // the whole run; the end after the kill is within seconds
  EXPECT_NE(r.output.find("rank 1"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("signal 9"), std::string::npos) << r.output;
  ASSERT_EQ(io::load_checkpoint(root_ / "killed/checkpoints/last.ckpt").contents.epoch, 2);

  r = testing::run_cli(resume_args("killed", 2));
  ASSERT_EQ(r.code, 0) << r.output;
  testing::expect_same_end(root_ / "killed", root_ / "full");
}

// Ctrl-C (SIGINT on every rank, as mpirun forwards it): the ranks stop at the same step, rank 0
// saves a mid-epoch checkpoint, and the resumed job ends at the uninterrupted job's weights.
TEST_F(DistCliTest, InterruptSavesAMidEpochCheckpointAndResumesExactly) {
  auto r = testing::run_cli(train_args("int_full", 2) + " --seed 8");
  ASSERT_EQ(r.code, 0) << r.output;
  r = testing::run_cli(train_args("int", 2) + " --seed 8",
                       "CONVKIT_FAULT_AT_STEP=57:2 timeout 120");
  EXPECT_NE(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("--nproc 2 --resume"), std::string::npos) << r.output;
  const auto saved = io::load_checkpoint(root_ / "int/checkpoints/last.ckpt");
  EXPECT_EQ(saved.contents.epoch, 1);  // mid-epoch 2: 40 steps per epoch
  r = testing::run_cli(resume_args("int", 2));
  ASSERT_EQ(r.code, 0) << r.output;
  testing::expect_same_end(root_ / "int", root_ / "int_full");
}

// A rank that stops (SIGSTOP: alive, so mpirun does not notice) is found by the others' timeout.
TEST_F(DistCliTest, StoppedRankEndsTheJobAfterTheTimeout) {
  const auto start = std::chrono::steady_clock::now();
  const auto r = testing::run_cli(train_args("stopped", 2) + " --set train.distributed.timeout_s=5",
                                  "CONVKIT_FAULT_AT_STEP=30:19 CONVKIT_FAULT_RANK=1 timeout 120");
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_NE(r.code, 0) << r.output;
  EXPECT_NE(r.code, 124) << "the job hung until timeout: " << r.output;
  EXPECT_LT(seconds, 60) << r.output;
  EXPECT_NE(r.output.find("no answer from the other ranks for 5 s"), std::string::npos) << r.output;
}

TEST_F(DistCliTest, ResumingWithAnotherNumberOfRanksIsRefusedPlainly) {
  auto r = testing::run_cli(train_args("short", 2) + " --epochs 1 --seed 2");
  ASSERT_EQ(r.code, 0) << r.output;
  r = testing::run_cli("train -q --resume " + (root_ / "short").string() + " --epochs 2 --data " +
                       (root_ / "data").string());
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_NE(r.output.find("trained by 2 rank(s)"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("--nproc 2"), std::string::npos) << r.output;
}

// Inside a Slurm allocation but not started by srun: one process, where the environment says
// 4 ranks. A config error that says what to do, not a hang.
TEST_F(DistCliTest, SlurmAllocationWithoutSrunIsExplained) {
  const auto r = testing::run_cli(train_args("slurm", 1) + " --epochs 1",
                                  "SLURM_PROCID=0 SLURM_NTASKS=4 timeout 60");
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_NE(r.output.find("start the ranks with srun"), std::string::npos) << r.output;
}

TEST_F(DistCliTest, BatchThatDoesNotSplitAmongTheRanksIsAConfigError) {
  const auto r =
      testing::run_cli(train_args("odd", 2) + " --set train.batch_size=51", "timeout 60");
  EXPECT_NE(r.code, 0) << r.output;
  EXPECT_NE(r.code, 124) << "hung: " << r.output;
  EXPECT_NE(r.output.find("does not split evenly among 2 ranks"), std::string::npos) << r.output;
}

// Two hosts: network namespaces joined by a veth pair, OpenMPI over TCP (scripts/two_hosts).
TEST_F(DistCliTest, TwoHostsOverTcpTrainTogether) {
  const std::string args = "train -q --config " + (root_ / "tiny.yaml").string() + " --data " +
                           (root_ / "data").string() + " --out " + (root_ / "hosts").string() +
                           " --epochs 1 --set train.threads=1";
  const auto r = testing::run_cli(args, "timeout 300 scripts/two_hosts");
  if (r.code == 77) GTEST_SKIP() << r.output;
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("data-parallel over 2 ranks"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("bytes from host-a to host-b over TCP"), std::string::npos) << r.output;
  EXPECT_EQ(io::load_checkpoint(root_ / "hosts/checkpoints/last.ckpt").contents.epoch, 1);
}

}  // namespace
}  // namespace convkit
