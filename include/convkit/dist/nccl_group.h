// NCCL between GPU ranks: the all-reduce of device memory (the gradient arena of a plan on the
// CUDA backend, when it exists), one rank per GPU. The communicator is set up through a host
// ProcessGroup (MPI), which carries NCCL's unique id from rank 0 to the others.
//
// Built into the separate library convkit_nccl when CMake finds the CUDA toolkit and NCCL; a
// build without them has the same functions, and nccl_group() then says so.
//
//   auto host = dist::join_job();
//   auto gpus = dist::nccl_group(*host, /*device=*/host->rank() % dist::cuda_devices());
//   gpus->start_all_reduce_sum(device_grads, count);  // on the group's CUDA stream
//   gpus->wait_all();
#pragma once

#include <convkit/dist/process_group.h>

#include <cstddef>
#include <memory>

namespace convkit::dist {

// Whether this build has NCCL, and how many GPUs this process sees (0 without CUDA or a driver).
bool nccl_built();
int cuda_devices();

class DeviceGroup {
 public:
  virtual ~DeviceGroup() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  // Sums `count` floats of device memory in place over the ranks, enqueued on the group's
  // stream; returns at once.
  virtual void start_all_reduce_sum(float* device_values, std::size_t count) = 0;
  // Waits for every started all-reduce.
  virtual void wait_all() = 0;
};

// A communicator over the ranks of `host` on GPU `device`. Throws Error naming what failed:
// built without NCCL, no such GPU, or an NCCL or CUDA error.
std::unique_ptr<DeviceGroup> nccl_group(ProcessGroup& host, int device);

}  // namespace convkit::dist
