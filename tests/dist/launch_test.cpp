// The rank and size from a launcher's environment (mpirun, PMI, srun), and the local group.
#include <convkit/dist/process_group.h>
#include <convkit/util/error.h>

#include <gtest/gtest.h>

#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

namespace convkit::dist {
namespace {

// Sets variables for one test and restores the environment after it.
class Env {
 public:
  Env() {
    for (const char* name : kAll) {
      const char* v = std::getenv(name);
      saved_.push_back({name, v ? std::optional<std::string>(v) : std::nullopt});
      unsetenv(name);
    }
  }
  ~Env() {
    for (const auto& [name, value] : saved_) {
      if (value)
        setenv(name, value->c_str(), 1);
      else
        unsetenv(name);
    }
  }
  void set(const char* name, const char* value) { setenv(name, value, 1); }

 private:
  static constexpr const char* kAll[] = {"OMPI_COMM_WORLD_RANK",
                                         "OMPI_COMM_WORLD_SIZE",
                                         "OMPI_COMM_WORLD_LOCAL_RANK",
                                         "OMPI_COMM_WORLD_LOCAL_SIZE",
                                         "PMIX_RANK",
                                         "PMI_RANK",
                                         "PMI_SIZE",
                                         "MPI_LOCALRANKID",
                                         "MPI_LOCALNRANKS",
                                         "SLURM_PROCID",
                                         "SLURM_NTASKS",
                                         "SLURM_LOCALID",
                                         "SLURM_NTASKS_PER_NODE"};
  std::vector<std::pair<const char*, std::optional<std::string>>> saved_;
};

TEST(LaunchTest, NoLauncherMeansOneProcess) {
  Env env;
  const LaunchInfo info = launch_from_environment();
  EXPECT_EQ(info.rank, 0);
  EXPECT_EQ(info.size, 1);
  EXPECT_EQ(info.launcher, "");
  EXPECT_EQ(join_job(), local_group());  // no MPI started
}

TEST(LaunchTest, ReadsMpirunFirstThenSlurm) {
  Env env;
  env.set("SLURM_PROCID", "3");
  env.set("SLURM_NTASKS", "8");
  env.set("SLURM_LOCALID", "1");
  env.set("SLURM_NTASKS_PER_NODE", "2(x4)");  // Slurm's compressed form: local size unknown
  LaunchInfo info = launch_from_environment();
  EXPECT_EQ(info.launcher, "slurm");
  EXPECT_EQ(info.rank, 3);
  EXPECT_EQ(info.size, 8);
  EXPECT_EQ(info.local_rank, 0);
  env.set("OMPI_COMM_WORLD_RANK", "1");
  env.set("OMPI_COMM_WORLD_SIZE", "2");
  env.set("OMPI_COMM_WORLD_LOCAL_RANK", "1");
  env.set("OMPI_COMM_WORLD_LOCAL_SIZE", "2");
  info = launch_from_environment();
  EXPECT_EQ(info.launcher, "mpirun");
  EXPECT_EQ(info.rank, 1);
  EXPECT_EQ(info.size, 2);
  EXPECT_EQ(info.local_size, 2);
}

TEST(LaunchTest, MalformedOrInconsistentVariablesNameThemselves) {
  Env env;
  env.set("PMI_RANK", "two");
  env.set("PMI_SIZE", "4");
  try {
    launch_from_environment();
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("PMI_RANK"), std::string::npos) << e.what();
  }
  env.set("PMI_RANK", "4");
  try {
    launch_from_environment();
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("below the size"), std::string::npos) << e.what();
  }
}

TEST(LaunchTest, LocalGroupCollectivesLeaveValuesAlone) {
  auto group = local_group();
  std::vector<float> v = {1, 2, 3};
  std::vector<double> d = {4, 5};
  group->all_reduce_sum(std::span<double>(d));
  group->broadcast(std::span<float>(v), 0);
  group->start_all_reduce_sum(std::span<float>(v));
  group->wait_all();
  EXPECT_EQ(v, (std::vector<float>{1, 2, 3}));
  EXPECT_EQ(d, (std::vector<double>{4, 5}));
  EXPECT_EQ(group->rank(), 0);
  abort_job_if_distributed(3);  // not a job: returns
}

}  // namespace
}  // namespace convkit::dist
