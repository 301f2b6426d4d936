// Heap allocations of the oneDNN kernels' forward + backward after their first call, counted
// with a replaced global operator new. convkit's own code allocates nothing there (the memory
// objects and argument arrays are built once; new pointers only cost a set_data_handle). What
// remains is oneDNN 2.6's own bookkeeping inside dnnl_primitive_execute (it builds a small map
// of the arguments per call), a fixed number per primitive: so the count must not change from
// step to step, nor when the tensors move to new addresses.
#include "backend/cpu/kernels.h"
#include "ops/activation.h"
#include "ops/batch_norm.h"
#include "ops/conv2d.h"
#include "ops/dense.h"
#include "ops/pool2d.h"
#include "ops/softmax.h"
#include "support/gradcheck.h"
#include "support/kernel_check.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <new>

namespace {
std::atomic<bool> g_counting{false};
std::atomic<long> g_allocations{0};
}  // namespace

// NOTE: replaces the global allocation functions for this whole test executable; they only
// count while g_counting is set, and otherwise behave as the default ones.
void* operator new(std::size_t bytes) {
  if (g_counting.load(std::memory_order_relaxed)) g_allocations.fetch_add(1);
  if (void* p = std::malloc(bytes ? bytes : 1)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept {
  std::free(p);
}
void operator delete(void* p, std::size_t) noexcept {
  std::free(p);
}
// The array forms too: otherwise a sanitizer's operator new[] would pair with the free() above.
void* operator new[](std::size_t bytes) {
  return ::operator new(bytes);
}
void operator delete[](void* p) noexcept {
  ::operator delete(p);
}
void operator delete[](void* p, std::size_t) noexcept {
  ::operator delete(p);
}
// And the nothrow forms (std::stable_sort's temporary buffer uses them).
void* operator new(std::size_t bytes, const std::nothrow_t&) noexcept {
  try {
    return ::operator new(bytes);
  } catch (...) {
    return nullptr;
  }
}
void* operator new[](std::size_t bytes, const std::nothrow_t&) noexcept {
  return ::operator new(bytes, std::nothrow);
}
void operator delete(void* p, const std::nothrow_t&) noexcept {
  ::operator delete(p);
}
void operator delete[](void* p, const std::nothrow_t&) noexcept {
  ::operator delete(p);
}

namespace convkit::backend::cpu {
namespace {

using ops::Mode;

// The tensors of one training step of a single-input op.
struct StepBuffers {
  Tensor x, y, dy, dx;
  std::vector<Tensor> params, grad_params, saved;
  std::vector<std::byte> scratch;

  StepBuffers(const ops::Op& op, const KernelRequest& request, const Kernel& kernel) {
    x = testing::random_normal(request.inputs[0].shape, 1);
    params = testing::make_params(op, {x});
    for (const auto& p : params) grad_params.push_back(Tensor::zeros(p.shape()));
    for (const auto& s : kernel.saved()) saved.push_back(Tensor::zeros(s.shape, s.dtype));
    y = Tensor::zeros(request.outputs[0].shape);
    dy = testing::random_normal(y.shape(), 2);
    dx = Tensor::zeros(x.shape());
    scratch.resize(kernel.scratch_bytes());
  }
  // Allocations made by one forward + backward.
  long step(Kernel& kernel) {
    g_allocations = 0;
    g_counting = true;
    kernel.forward({.inputs = std::span(&x, 1),
                    .outputs = std::span(&y, 1),
                    .params = params,
                    .saved = saved,
                    .scratch = scratch,
                    .mode = Mode::Train});
    kernel.backward({.inputs = std::span(&x, 1),
                     .outputs = std::span(&y, 1),
                     .params = params,
                     .saved = saved,
                     .grad_outputs = std::span(&dy, 1),
                     .grad_inputs = std::span(&dx, 1),
                     .grad_params = grad_params,
                     .scratch = scratch});
    g_counting = false;
    return g_allocations.load();
  }
};

void expect_constant_allocations(const ops::Op& op, const Shape& x_shape) {
  SCOPED_TRACE(std::string(op.type()) + " " + x_shape.str());
  const auto request = testing::make_request(op, {x_shape}, {});
  auto kernel = testing::make_cpu_kernel(request);
  ASSERT_NE(kernel, nullptr);
  StepBuffers a(op, request, *kernel), b(op, request, *kernel);
  a.step(*kernel);  // the first call may build things lazily
  const long steady = a.step(*kernel);
  EXPECT_EQ(a.step(*kernel), steady) << "allocations grow from step to step";
  EXPECT_EQ(b.step(*kernel), steady) << "moving the tensors to new addresses allocates";
  EXPECT_EQ(a.step(*kernel), steady);
  std::printf("%-10s %-18s %ld allocations per step (oneDNN execute bookkeeping)\n",
              std::string(op.type()).c_str(), x_shape.str().c_str(), steady);
}

TEST(KernelAllocation, ConstantPerStepAndOnNewAddresses) {
  using ops::FusedActivation;
  expect_constant_allocations(
      ops::Conv2D(
          {.filters = 16, .padding = ops::Padding::Same, .activation = FusedActivation::ReLU}),
      {4, 8, 12, 12});
  expect_constant_allocations(ops::Dense({.units = 10, .activation = FusedActivation::ReLU}),
                              {4, 20});
  expect_constant_allocations(ops::BatchNorm({.activation = FusedActivation::ReLU}),
                              {4, 8, 12, 12});
  expect_constant_allocations(ops::Pool2D(ops::PoolKind::Max, {}), {4, 8, 12, 12});
  expect_constant_allocations(ops::Activation(ops::ActivationKind::GELU), {4, 8, 12, 12});
  expect_constant_allocations(ops::Softmax(), {4, 10});
}

}  // namespace
}  // namespace convkit::backend::cpu
