// The NCCL functions of a build without the CUDA toolkit or NCCL (see nccl_group.h).
#include <convkit/dist/nccl_group.h>
#include <convkit/util/error.h>

namespace convkit::dist {

bool nccl_built() {
  return false;
}

int cuda_devices() {
  return 0;
}

std::unique_ptr<DeviceGroup> nccl_group(ProcessGroup&, int) {
  fail(
      "NCCL group: this convkit was built without NCCL (CMake found no CUDA toolkit with NCCL); "
      "GPU ranks need a build on a machine that has them");
}

}  // namespace convkit::dist
