// NCCL device groups (see include/convkit/dist/nccl_group.h): one ncclComm per rank, set up with
// the unique id rank 0 broadcasts over the host group, all-reduces enqueued on a stream of the
// group's own.
#include <convkit/dist/nccl_group.h>
#include <convkit/util/error.h>

#include <cuda_runtime_api.h>
#include <nccl.h>

#include <cstring>

namespace convkit::dist {

namespace {

void check_cuda(cudaError_t code, const char* what) {
  if (code != cudaSuccess) fail("CUDA {} failed: {}", what, cudaGetErrorString(code));
}

void check_nccl(ncclResult_t code, const char* what) {
  if (code != ncclSuccess) fail("NCCL {} failed: {}", what, ncclGetErrorString(code));
}

class NcclGroup final : public DeviceGroup {
 public:
  NcclGroup(ProcessGroup& host, int device) : rank_(host.rank()), size_(host.size()) {
    const int devices = cuda_devices();
    if (device < 0 || device >= devices)
      fail("NCCL group: GPU {} requested, this process sees {}", device, devices);
    check_cuda(cudaSetDevice(device), "cudaSetDevice");
    ncclUniqueId id;
    if (rank_ == 0) check_nccl(ncclGetUniqueId(&id), "ncclGetUniqueId");
    std::span<std::byte> bytes(reinterpret_cast<std::byte*>(&id), sizeof id);
    host.broadcast(bytes, 0);
    check_cuda(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking), "cudaStreamCreate");
    check_nccl(ncclCommInitRank(&comm_, size_, id, rank_), "ncclCommInitRank");
  }
  ~NcclGroup() override {
    if (comm_) ncclCommDestroy(comm_);
    if (stream_) cudaStreamDestroy(stream_);
  }
  int rank() const override { return rank_; }
  int size() const override { return size_; }
  void start_all_reduce_sum(float* values, std::size_t count) override {
    check_nccl(ncclAllReduce(values, values, count, ncclFloat, ncclSum, comm_, stream_),
               "ncclAllReduce");
  }
  void wait_all() override { check_cuda(cudaStreamSynchronize(stream_), "cudaStreamSynchronize"); }

 private:
  int rank_ = 0, size_ = 1;
  ncclComm_t comm_ = nullptr;
  cudaStream_t stream_ = nullptr;
};

}  // namespace

bool nccl_built() {
  return true;
}

int cuda_devices() {
  int n = 0;
  if (cudaGetDeviceCount(&n) != cudaSuccess) {
    cudaGetLastError();  // clears "no device" / "insufficient driver"
    return 0;
  }
  return n;
}

std::unique_ptr<DeviceGroup> nccl_group(ProcessGroup& host, int device) {
  return std::make_unique<NcclGroup>(host, device);
}

}  // namespace convkit::dist
