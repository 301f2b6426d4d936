// The MPI process group (OpenMPI from Debian): MPI_COMM_WORLD of a job started by mpirun or srun.
// Initialized once per process with MPI_THREAD_FUNNELED (only the thread that trains calls MPI);
// finalized at a normal exit. An error on one rank ends the job through MPI_Abort
// (abort_job_if_distributed), so no rank waits forever in a collective for a rank that is gone.
#include <convkit/dist/process_group.h>
#include <convkit/util/error.h>

#include <fmt/format.h>
// MPI's C interface only (OpenMPI's mpi.h would pull in the removed C++ bindings otherwise).
#define OMPI_SKIP_MPICXX 1
#define MPICH_SKIP_MPICXX 1
#include <mpi.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <mutex>
#include <vector>

namespace convkit::dist {

namespace {

bool g_initialized = false;
bool g_aborting = false;

void finalize_at_exit() {
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (!finalized && !g_aborting) MPI_Finalize();
}

void check(int code, const char* what) {
  if (code == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  MPI_Error_string(code, text, &length);
  fail("MPI {} failed: {}", what, std::string(text, std::size_t(length)));
}

class MpiGroup final : public ProcessGroup {
 public:
  MpiGroup() {
    MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
    MPI_Comm_size(MPI_COMM_WORLD, &size_);
  }
  int rank() const override { return rank_; }
  int size() const override { return size_; }

  // Blocking collectives are the non-blocking ones waited for under the timeout.
  void all_reduce_sum(std::span<double> v) override {
    start_all_reduce_sum(v);
    wait_all("all-reduce");
  }
  void broadcast(std::span<float> v, int root) override {
    broadcast(v.data(), v.size(), MPI_FLOAT, root);
  }
  void broadcast(std::span<std::byte> v, int root) override {
    broadcast(v.data(), v.size(), MPI_BYTE, root);
  }

  void start_all_reduce_sum(std::span<float> v) override { start(v.data(), v.size(), MPI_FLOAT); }
  void start_all_reduce_sum(std::span<double> v) override { start(v.data(), v.size(), MPI_DOUBLE); }
  void progress() override {
    if (requests_.empty()) return;
    int done = 0;
    check(MPI_Testall(int(requests_.size()), requests_.data(), &done, MPI_STATUSES_IGNORE), "test");
    if (done) requests_.clear();
  }
  void wait_all() override { wait_all("gradient all-reduce"); }
  void set_timeout(double seconds) override { timeout_ = seconds; }

 private:
  static int count_of(std::size_t count) {
    if (count > std::size_t(std::numeric_limits<int>::max()))
      fail("MPI collective of {} values: more than one call can carry", count);
    return int(count);
  }

  void start(void* data, std::size_t count, MPI_Datatype type) {
    MPI_Request r = MPI_REQUEST_NULL;
    check(MPI_Iallreduce(MPI_IN_PLACE, data, count_of(count), type, MPI_SUM, MPI_COMM_WORLD, &r),
          "all-reduce");
    requests_.push_back(r);
  }

  void broadcast(void* data, std::size_t count, MPI_Datatype type, int root) {
    MPI_Request r = MPI_REQUEST_NULL;
    check(MPI_Ibcast(data, count_of(count), type, root, MPI_COMM_WORLD, &r), "broadcast");
    requests_.push_back(r);
    wait_all("broadcast");
  }

  // Completes every started request, polling (as MPI_Waitall does) with a deadline; past it,
  // ends the job with a message saying where this rank waited.
  void wait_all(const char* what) {
    if (requests_.empty()) return;
    if (timeout_ <= 0) {
      check(MPI_Waitall(int(requests_.size()), requests_.data(), MPI_STATUSES_IGNORE), "wait");
      requests_.clear();
      return;
    }
    const auto deadline = std::chrono::steady_clock::now() +
                          std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                              std::chrono::duration<double>(timeout_));
    for (std::uint64_t polls = 0;; ++polls) {
      int done = 0;
      check(MPI_Testall(int(requests_.size()), requests_.data(), &done, MPI_STATUSES_IGNORE),
            "wait");
      if (done) break;
      if (polls % 1024 == 1023 && std::chrono::steady_clock::now() > deadline) {
        fmt::print(stderr,
                   "convkit: rank {} of {}: no answer from the other ranks for {:g} s (waiting in "
                   "a {}): a rank is stopped, hung or unreachable; ending the job "
                   "(train.distributed.timeout_s sets the limit)\n",
                   rank_, size_, timeout_, what);
        abort_job_if_distributed(1);
        std::_Exit(1);  // MPI_Abort does not return
      }
    }
    requests_.clear();
  }

  int rank_ = 0, size_ = 1;
  double timeout_ = 0;
  std::vector<MPI_Request> requests_;
};

std::shared_ptr<ProcessGroup> mpi_world(const LaunchInfo& launch) {
  static std::mutex mutex;
  static std::shared_ptr<ProcessGroup> world;
  std::lock_guard<std::mutex> lock(mutex);
  if (world) return world;
  int provided = 0;
  const int code = MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided);
  if (code != MPI_SUCCESS)
    fail("launched by {} as rank {} of {}, but MPI could not start (MPI_Init_thread returned {})",
         launch.launcher, launch.rank, launch.size, code);
  g_initialized = true;
  std::atexit(finalize_at_exit);
  world = std::make_shared<MpiGroup>();
  if (world->size() != launch.size || world->rank() != launch.rank)
    fail("MPI says rank {} of {}, the {} environment rank {} of {}{}", world->rank(), world->size(),
         launch.launcher, launch.rank, launch.size,
         launch.launcher == "slurm"
             ? " (inside a Slurm allocation, start the ranks with srun, or unset SLURM_NTASKS "
               "for one process)"
             : "");
  return world;
}

}  // namespace

std::shared_ptr<ProcessGroup> join_job() {
  const LaunchInfo launch = launch_from_environment();
  if (launch.size <= 1) return local_group();
  return mpi_world(launch);
}

void abort_job_if_distributed(int code) {
  if (!g_initialized || g_aborting) return;
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (finalized) return;
  g_aborting = true;
  std::fflush(stdout);
  std::fflush(stderr);
  MPI_Abort(MPI_COMM_WORLD, code);
}

}  // namespace convkit::dist
