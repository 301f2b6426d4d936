// Process groups for data-parallel training: the ranks of one job and the collectives they run
// on host memory. A job is launched by mpirun, Slurm's srun or the Kubernetes MPI Operator (all
// set the rank in the environment; launch_from_environment reads it) or by `convkit train
// --nproc N`, which runs mpirun itself. MPI is initialized only in a process that was launched
// as one of several ranks, so single-process runs (and the tuner's forked workers) never touch it.
//
//   auto group = dist::join_job();           // size 1 (no MPI) unless launched as several ranks
//   group->all_reduce_sum(values);           // every rank gets the sum
//   group->broadcast(weights, /*root=*/0);   // every rank gets rank 0's values
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>

namespace convkit::dist {

// Where this process stands in its job, from the launcher's environment.
struct LaunchInfo {
  int rank = 0;
  int size = 1;
  int local_rank = 0;  // among the ranks on this host
  int local_size = 1;
  std::string launcher;  // "mpirun", "slurm", "pmix", "pmi" or "" (not launched as a job)
};

// OMPI_COMM_WORLD_{RANK,SIZE,LOCAL_RANK,LOCAL_SIZE} (mpirun, the MPI Operator), PMIX_RANK with
// OMPI's size, PMI_RANK/PMI_SIZE, SLURM_PROCID/SLURM_NTASKS/SLURM_LOCALID (srun). Throws Error
// naming the variable when one is present but malformed or inconsistent (rank >= size).
LaunchInfo launch_from_environment();

class ProcessGroup {
 public:
  virtual ~ProcessGroup() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;

  // Blocking collectives: every rank calls them in the same order with the same sizes.
  virtual void all_reduce_sum(std::span<double> values) = 0;
  virtual void broadcast(std::span<float> values, int root) = 0;
  virtual void broadcast(std::span<std::byte> bytes, int root) = 0;

  // Non-blocking sum in place: the memory must stay untouched until wait_all returns.
  virtual void start_all_reduce_sum(std::span<float> values) = 0;
  virtual void start_all_reduce_sum(std::span<double> values) = 0;
  // Lets started collectives advance (MPI progresses only inside its calls); cheap.
  virtual void progress() = 0;
  // Completes every started collective.
  virtual void wait_all() = 0;

  // The longest a collective may wait for the other ranks: past it this rank ends the job
  // (abort) with a message saying where it waited, so a rank that is stopped, hung or cut off
  // never leaves the others waiting forever. A rank that exits is noticed sooner, by the
  // launcher. <= 0: wait forever.
  virtual void set_timeout(double seconds) { (void)seconds; }
};

// A group of one process: collectives are no-ops (the sum of one value is itself).
std::shared_ptr<ProcessGroup> local_group();

// The group this process was launched into: MPI's world when launch_from_environment() says
// size > 1 (initialized once, finalized at a normal exit), else local_group(). Throws Error when
// launched as several ranks but MPI cannot start.
std::shared_ptr<ProcessGroup> join_job();

// When this process is one rank of a running MPI job: ends the job (MPI_Abort with `code`), so
// an error on one rank never leaves the others waiting in a collective. Otherwise returns.
void abort_job_if_distributed(int code);

}  // namespace convkit::dist
