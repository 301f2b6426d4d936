// The host backends' memory and context: buffers (device, alignment, zeroing), fill/copy/
// accumulate against plain loops, refusal of memory on another device, the OpenMP scope, the
// shared instances, and the reference kernel's host-only check.
#include "backend/cpu/host_backend.h"
#include "backend/backend.h"
#include "ops/add.h"

#include <convkit/tensor/arena.h>

#include <gtest/gtest.h>

#include <omp.h>

#include <cstdint>
#include <string>

namespace convkit::backend {
namespace {

// The message of the Error `f` throws ("" when it throws none).
template <typename F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

bool contains(const std::string& s, const std::string& what) {
  return s.find(what) != std::string::npos;
}

TEST(HostBackendTest, BuffersAreHostAlignedAndZeroed) {
  for (const char* name : {"cpu", "reference"}) {
    auto backend = make_backend(name);
    EXPECT_EQ(backend->device(), Device::host()) << name;
    for (std::size_t bytes : {1u, 100u, 4096u, 1000003u}) {
      const Buffer buffer = backend->allocate(bytes);
      EXPECT_EQ(buffer.device(), Device::host());
      EXPECT_GE(buffer.size(), bytes);
      EXPECT_EQ(reinterpret_cast<std::uintptr_t>(buffer.data()) % kAlignment, 0u);
      for (std::size_t i = 0; i < bytes; ++i) ASSERT_EQ(buffer.data()[i], std::byte{0}) << i;
      const Tensor view = Arena(buffer).view(0, {std::int64_t(bytes / 4)}, DType::u8);
      EXPECT_EQ(view.device(), Device::host());
      EXPECT_EQ(view.raw(), buffer.data());
    }
  }
}

TEST(HostBackendTest, FillCopyAccumulateMatchPlainLoops) {
  auto backend = make_backend("cpu");
  // Below and above the size where accumulate goes parallel.
  for (std::int64_t n : {std::int64_t(1), std::int64_t(1000), std::int64_t(100003)}) {
    Tensor a = Tensor::empty({n}), b = Tensor::empty({n}), want = Tensor::empty({n});
    for (std::int64_t i = 0; i < n; ++i) {
      a.data<float>()[i] = 0.5f * float(i % 97) - 3;
      b.data<float>()[i] = float(i % 13) * 0.25f;
    }
    for (std::int64_t i = 0; i < n; ++i)
      want.data<float>()[i] = a.data<float>()[i] + b.data<float>()[i];
    backend->accumulate(a, b);
    EXPECT_EQ(max_abs_diff(a, want), 0.0f) << n;

    backend->fill(a, 1.5f);
    for (std::int64_t i = 0; i < n; ++i) ASSERT_EQ(a.data<float>()[i], 1.5f) << i;
    backend->copy(a, b);
    EXPECT_EQ(max_abs_diff(a, b), 0.0f);
  }
  Tensor i32 = Tensor::zeros({5}, DType::i32), src = Tensor::full({5}, 0);
  Tensor ints = Tensor::empty({5}, DType::i32);
  for (int i = 0; i < 5; ++i) ints.data<std::int32_t>()[i] = 7 * i;
  backend->copy(i32, ints);  // copy is a byte copy: any dtype
  EXPECT_EQ(i32.data<std::int32_t>()[4], 28);
  EXPECT_TRUE(contains(error_of([&] { backend->copy(i32, src); }), "differ"));
  EXPECT_TRUE(contains(
      error_of([&] { backend->accumulate(Tensor::zeros({4}), Tensor::zeros({5})); }), "differ"));
}

TEST(HostBackendTest, RefusesMemoryOnAnotherDevice) {
  auto backend = make_backend("cpu");
  Tensor host = Tensor::zeros({8});
  const Tensor gpu = Tensor::wrap(host.raw(), {8}, DType::f32, Device::cuda(1));
  for (const std::string& message :
       {error_of([&] { backend->fill(gpu, 1); }), error_of([&] { backend->copy(host, gpu); }),
        error_of([&] { backend->accumulate(gpu, host); })}) {
    EXPECT_TRUE(contains(message, "cuda:1")) << message;
    EXPECT_TRUE(contains(message, "host backend")) << message;
  }
}

TEST(HostBackendTest, ExecutionScopeSetsAndRestoresTheThreadCount) {
  auto backend = make_backend("cpu");
  const int before = omp_get_max_threads();
  {
    const ExecutionScope scope(*backend, 1);
    EXPECT_EQ(omp_get_max_threads(), 1);
  }
  EXPECT_EQ(omp_get_max_threads(), before);
  {
    const ExecutionScope scope(*backend, 0);  // 0: the caller's setting
    EXPECT_EQ(omp_get_max_threads(), before);
  }
  EXPECT_EQ(omp_get_max_threads(), before);
}

TEST(BackendTest, SharedInstancesArePerName) {
  EXPECT_EQ(shared_backend("cpu").get(), shared_backend("cpu").get());
  EXPECT_NE(shared_backend("cpu").get(), shared_backend("reference").get());
  EXPECT_EQ(shared_backend("reference")->name(), "reference");
  EXPECT_NE(make_backend("cpu").get(), shared_backend("cpu").get());  // make_backend: a new one
  EXPECT_TRUE(contains(error_of([] { shared_backend("tpu"); }), "unknown backend 'tpu'"));
}

// A reference kernel runs host loops: built for another device, or handed a tensor that lives
// on one, it refuses with the op, the tensor and the device in the message.
TEST(ReferenceKernelTest, RefusesTensorsOffTheHost) {
  const ops::Add add;
  const std::vector<TensorSpec> specs = {{Shape{2, 3}}, {Shape{2, 3}}};
  const std::string built = error_of([&] {
    ReferenceKernel kernel(
        {.op = add, .inputs = specs, .outputs = {specs[0]}, .device = Device::cuda(0)});
  });
  EXPECT_TRUE(contains(built, "reference kernel of Add")) << built;
  EXPECT_TRUE(contains(built, "cuda:0")) << built;

  const std::string cpu = error_of([&] {
    make_kernel_or_reference(
        *make_backend("cpu"),
        {.op = add, .inputs = specs, .outputs = {specs[0]}, .device = Device::cuda(0)});
  });
  EXPECT_TRUE(contains(cpu, "cpu backend's kernels run on host memory, not on cuda:0")) << cpu;

  ReferenceKernel kernel({.op = add, .inputs = specs, .outputs = {specs[0]}});
  Tensor a = Tensor::full({2, 3}, 1), b = Tensor::full({2, 3}, 2), y = Tensor::zeros({2, 3});
  const Tensor gpu_b = Tensor::wrap(b.raw(), {2, 3}, DType::f32, Device::cuda(0));
  const std::vector<Tensor> bad_inputs = {a, gpu_b}, outputs = {y};
  const std::string called =
      error_of([&] { kernel.forward({.inputs = bad_inputs, .outputs = outputs}); });
  EXPECT_TRUE(contains(called, "reference kernel of Add")) << called;
  EXPECT_TRUE(contains(called, "input [2, 3] lives on cuda:0")) << called;
  EXPECT_EQ(y.data<float>()[0], 0.0f);  // nothing ran

  ReferenceKernel host_kernel({.op = add, .inputs = specs, .outputs = {specs[0]}});
  const std::vector<Tensor> inputs = {a, b};
  host_kernel.forward({.inputs = inputs, .outputs = outputs});
  EXPECT_EQ(y.data<float>()[5], 3.0f);
}

}  // namespace
}  // namespace convkit::backend
