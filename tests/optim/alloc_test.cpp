// "A training step allocates nothing": after the first step (which sizes the state), steps of
// every optimizer make no C++ heap allocation. This file replaces the global operator new/delete
// of the test_optim binary with counting versions (counted only while a test arms them).
#include "optim/reference.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <new>

namespace {
std::atomic<bool> g_counting{false};
std::atomic<long> g_allocations{0};
int* volatile g_sink = nullptr;  // keeps the probe allocation from being optimized away
}  // namespace

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

namespace convkit::optim {
namespace {

TEST(AllocTest, StepsAfterTheFirstAllocateNothing) {
  // One slot over the parallel threshold, one small, one frozen.
  const std::int64_t big = 100000, total = big + 64 + 32;
  std::vector<float> params(total, 0.5f), grads(total, 0.25f);
  std::vector<ParamSlot> slots{
      {.name = "big", .offset = 0, .numel = big},
      {.name = "small", .offset = big, .numel = 10, .decay = false},
      {.name = "frozen", .offset = big + 64, .numel = 32, .trainable = false}};
  const ParamBlock block{
      .params = params.data(), .grads = grads.data(), .numel = total, .slots = slots};
  const Regularization reg{.weight_decay = 0.01, .l1 = 0.001, .clip_norm = 1.0};
  std::unique_ptr<Optimizer> optimizers[] = {
      make_sgd({.momentum = 0.9, .nesterov = true, .reg = reg}),
      make_adam({.amsgrad = true, .reg = reg}), make_adamw({.l1 = 0.001, .clip_norm = 1.0}),
      make_rmsprop({.momentum = 0.5, .centered = true, .reg = reg})};
  for (auto& opt : optimizers) {
    opt->step(block);
    g_allocations = 0;
    g_counting = true;
    for (int s = 0; s < 3; ++s) {
      opt->set_lr(opt->lr() * 0.5);
      opt->step(block);
    }
    g_counting = false;
    EXPECT_EQ(g_allocations.load(), 0) << opt->name();
    EXPECT_EQ(opt->steps(), 4);
  }
  // The counter itself works.
  g_counting = true;
  g_sink = new int(1);
  g_counting = false;
  delete g_sink;
  EXPECT_EQ(g_allocations.load(), 1);
}

}  // namespace
}  // namespace convkit::optim
