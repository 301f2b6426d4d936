// The NCCL device group: on a machine with a GPU, a one-rank communicator sums in place (the
// identity) on device memory and many all-reduces queue on its stream; without a GPU (or a
// build without NCCL), asking for one is an Error that says why, never a crash. Multi-rank NCCL
// needs one GPU per rank: the multi-rank tests run on CPU ranks through MPI (ddp_equivalence).
#include <convkit/dist/nccl_group.h>
#include <convkit/util/error.h>

#include "support/test_util.h"

#include <gtest/gtest.h>

#include <vector>

#if __has_include(<cuda_runtime_api.h>)
#include <cuda_runtime_api.h>
#define CONVKIT_TEST_CUDA 1
#endif

namespace convkit::dist {
namespace {

TEST(NcclGroupTest, WithoutAGpuAskingForOneIsAClearError) {
  if (nccl_built() && cuda_devices() > 0) GTEST_SKIP() << "this machine has a GPU";
  const std::string message = testing::error_of<Error>([] { nccl_group(*local_group(), 0); });
  EXPECT_TRUE(message.find("built without NCCL") != std::string::npos ||
              message.find("this process sees 0") != std::string::npos)
      << message;
}

TEST(NcclGroupTest, OneRankSumsInPlaceOnTheGpu) {
  if (!nccl_built()) GTEST_SKIP() << "built without NCCL";
  if (cuda_devices() == 0) GTEST_SKIP() << "no GPU on this machine";
#ifdef CONVKIT_TEST_CUDA
  auto group = nccl_group(*local_group(), 0);
  EXPECT_EQ(group->rank(), 0);
  EXPECT_EQ(group->size(), 1);
  const std::size_t n = 1 << 20;
  std::vector<float> host(n);
  for (std::size_t i = 0; i < n; ++i) host[i] = float(i % 1000) * 0.5f;
  float* device = nullptr;
  ASSERT_EQ(cudaMalloc(reinterpret_cast<void**>(&device), n * sizeof(float)), cudaSuccess);
  ASSERT_EQ(cudaMemcpy(device, host.data(), n * sizeof(float), cudaMemcpyHostToDevice),
            cudaSuccess);
  for (int k = 0; k < 4; ++k)  // buckets of a quarter each, queued on the stream
    group->start_all_reduce_sum(device + k * (n / 4), n / 4);
  group->wait_all();
  std::vector<float> back(n);
  ASSERT_EQ(cudaMemcpy(back.data(), device, n * sizeof(float), cudaMemcpyDeviceToHost),
            cudaSuccess);
  cudaFree(device);
  EXPECT_EQ(back, host);  // the sum over one rank
#else
  GTEST_SKIP() << "the test was built without the CUDA runtime headers";
#endif
}

}  // namespace
}  // namespace convkit::dist
