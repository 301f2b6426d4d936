// The batch loader: coverage and order of epochs, reproducibility, normalization, partial and
// dropped last batches, exact resume with set_position, errors from the worker thread, and no
// heap allocation per batch once the first epoch has run.
#include <convkit/data/loader.h>

#include <gtest/gtest.h>

#include "data/data_test_util.h"

#include <atomic>
#include <cstdlib>
#include <new>
#include <set>

// Counts heap allocations while `g_count_allocations` is set (all threads).
namespace {
std::atomic<bool> g_count_allocations{false};
std::atomic<long> g_allocations{0};
void* counted_alloc(std::size_t n, std::size_t align) {
  if (g_count_allocations.load(std::memory_order_relaxed)) ++g_allocations;
  void* p =
      align > alignof(std::max_align_t)
          ? std::aligned_alloc(align, (std::max<std::size_t>(n, 1) + align - 1) / align * align)
          : std::malloc(std::max<std::size_t>(n, 1));
  if (!p) throw std::bad_alloc();
  return p;
}
}  // namespace

void* operator new(std::size_t n) {
  return counted_alloc(n, 0);
}
void* operator new[](std::size_t n) {
  return counted_alloc(n, 0);
}
void* operator new(std::size_t n, std::align_val_t a) {
  return counted_alloc(n, std::size_t(a));
}
void* operator new[](std::size_t n, std::align_val_t a) {
  return counted_alloc(n, std::size_t(a));
}
void operator delete(void* p) noexcept {
  std::free(p);
}
void operator delete[](void* p) noexcept {
  std::free(p);
}
void operator delete(void* p, std::size_t) noexcept {
  std::free(p);
}
void operator delete[](void* p, std::size_t) noexcept {
  std::free(p);
}
void operator delete(void* p, std::align_val_t) noexcept {
  std::free(p);
}
void operator delete[](void* p, std::align_val_t) noexcept {
  std::free(p);
}
void operator delete(void* p, std::size_t, std::align_val_t) noexcept {
  std::free(p);
}
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept {
  std::free(p);
}

namespace convkit::data {
namespace {

using namespace testing;

// The dataset indices of one epoch, batch by batch.
std::vector<std::vector<std::int64_t>> run_epoch(Loader& loader, std::int64_t epoch) {
  loader.start_epoch(epoch);
  std::vector<std::vector<std::int64_t>> batches;
  while (auto b = loader.next()) batches.emplace_back(b->indices.begin(), b->indices.end());
  return batches;
}

std::vector<std::int64_t> flat(const std::vector<std::vector<std::int64_t>>& batches) {
  std::vector<std::int64_t> all;
  for (const auto& b : batches) all.insert(all.end(), b.begin(), b.end());
  return all;
}

TEST(LoaderTest, EverySampleOncePerEpochWithPartialLastBatch) {
  Loader loader(synthetic(103), {.batch_size = 10, .seed = 3});
  EXPECT_EQ(loader.batches_per_epoch(), 11);
  for (std::int64_t epoch = 0; epoch < 3; ++epoch) {
    auto batches = run_epoch(loader, epoch);
    ASSERT_EQ(batches.size(), 11u);
    for (int i = 0; i < 10; ++i) EXPECT_EQ(batches[i].size(), 10u);
    EXPECT_EQ(batches[10].size(), 3u);
    std::vector<std::int64_t> all = flat(batches);
    std::set<std::int64_t> unique(all.begin(), all.end());
    EXPECT_EQ(unique.size(), 103u);
    EXPECT_EQ(*unique.begin(), 0);
    EXPECT_EQ(*unique.rbegin(), 102);
    EXPECT_FALSE(loader.next().has_value());  // stays finished
  }
}

TEST(LoaderTest, OrderDependsOnSeedAndEpochOnly) {
  Dataset d = synthetic(50);
  Loader a(d, {.batch_size = 7, .seed = 11}), b(d, {.batch_size = 7, .seed = 11, .prefetch = 5});
  Loader c(d, {.batch_size = 7, .seed = 12});
  auto a0 = flat(run_epoch(a, 0)), a1 = flat(run_epoch(a, 1));
  EXPECT_NE(a0, a1);
  EXPECT_EQ(flat(run_epoch(b, 1)), a1);  // epoch 1 first: no dependence on history
  EXPECT_EQ(flat(run_epoch(b, 0)), a0);
  EXPECT_NE(flat(run_epoch(c, 0)), a0);
  std::vector<std::int64_t> order;
  a.epoch_order(1, order);
  EXPECT_EQ(order, a1);
  Loader plain(d, {.batch_size = 7, .shuffle = false});
  auto p = flat(run_epoch(plain, 4));
  for (std::int64_t i = 0; i < 50; ++i) EXPECT_EQ(p[i], i);
}

TEST(LoaderTest, NormalizesPerChannelAndCarriesLabels) {
  Dataset d = synthetic(9, 3, 2, 2, 4);
  std::vector<float> mean = {0.1f, 0.5f, 0.9f}, std = {0.2f, 0.3f, 0.4f};
  Loader loader(d, {.batch_size = 4, .seed = 1, .mean = mean, .std = std});
  loader.start_epoch(0);
  const std::uint8_t* px = d.images.data<std::uint8_t>();
  int seen = 0;
  while (auto b = loader.next()) {
    const std::int64_t n = std::int64_t(b->indices.size());
    ASSERT_EQ(b->images.shape(), (Shape{n, 3, 2, 2}));
    ASSERT_EQ(b->labels.shape(), (Shape{n}));
    EXPECT_EQ(b->images.dtype(), DType::f32);
    for (std::int64_t i = 0; i < n; ++i) {
      const std::int64_t s = b->indices[i];
      EXPECT_EQ(b->labels.data<std::int32_t>()[i], d.labels.data<std::int32_t>()[s]);
      for (int c = 0; c < 3; ++c)
        for (int j = 0; j < 4; ++j) {
          float want = (float(px[(s * 3 + c) * 4 + j]) / 255.0f - mean[c]) / std[c];
          EXPECT_EQ(b->images.data<float>()[(i * 3 + c) * 4 + j], want);
        }
      ++seen;
    }
  }
  EXPECT_EQ(seen, 9);
  // One value broadcasts to all channels; 255 with mean 0, std 1 is exactly 1.
  Dataset white = synthetic(2, 1, 1, 1);
  white.images.data<std::uint8_t>()[0] = 255;
  white.images.data<std::uint8_t>()[1] = 0;
  Loader w(white, {.batch_size = 2, .shuffle = false, .mean = {0.5f}, .std = {0.5f}});
  w.start_epoch(0);
  auto b = w.next();
  EXPECT_EQ(b->images.data<float>()[0], 1.0f);
  EXPECT_EQ(b->images.data<float>()[1], -1.0f);
}

TEST(LoaderTest, DropLast) {
  Loader loader(synthetic(103), {.batch_size = 10, .seed = 3, .drop_last = true});
  EXPECT_EQ(loader.batches_per_epoch(), 10);
  auto batches = run_epoch(loader, 0);
  ASSERT_EQ(batches.size(), 10u);
  for (const auto& b : batches) EXPECT_EQ(b.size(), 10u);
  auto all = flat(batches);
  EXPECT_EQ(std::set<std::int64_t>(all.begin(), all.end()).size(), 100u);
  Loader small(synthetic(5), {.batch_size = 8, .drop_last = true});
  EXPECT_EQ(small.batches_per_epoch(), 0);
  EXPECT_TRUE(run_epoch(small, 0).empty());
  Loader one(synthetic(5), {.batch_size = 8});
  EXPECT_EQ(one.batches_per_epoch(), 1);
  EXPECT_EQ(run_epoch(one, 0)[0].size(), 5u);
}

TEST(LoaderTest, SetPositionResumesExactly) {
  Dataset d = synthetic(61, 1, 3, 3);
  LoaderOptions opts{.batch_size = 8, .seed = 9};
  opts.augment = [](Tensor& x, std::uint64_t epoch, std::uint64_t batch, std::uint64_t) {
    x.data<float>()[0] += float(epoch * 100 + batch);  // augmentation keyed by (epoch, batch)
  };
  auto record = [](Loader& l) {
    std::vector<std::vector<float>> out;
    while (auto b = l.next()) {
      const float* p = b->images.template data<float>();
      out.emplace_back(p, p + b->images.numel());
      for (auto i : b->indices) out.back().push_back(float(i));
    }
    return out;
  };
  Loader full(d, opts);
  full.start_epoch(2);
  auto want = record(full);
  ASSERT_EQ(want.size(), 8u);
  Loader resumed(d, opts);
  resumed.set_position(2, 5);
  auto got = record(resumed);
  ASSERT_EQ(got.size(), 3u);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(got[i], want[5 + i]);
  // Interrupting an epoch midway and repositioning the same loader.
  resumed.start_epoch(0);
  resumed.next();
  resumed.next();
  resumed.set_position(2, 0);
  EXPECT_EQ(record(resumed), want);
  resumed.set_position(2, 8);  // the end: nothing left
  EXPECT_FALSE(resumed.next().has_value());
  EXPECT_THROW(resumed.set_position(2, 9), Error);
}

TEST(LoaderTest, WorkerExceptionsReachTheCaller) {
  std::atomic<bool> armed{true};
  LoaderOptions opts{.batch_size = 4, .seed = 2};
  opts.augment = [&](Tensor&, std::uint64_t epoch, std::uint64_t batch, std::uint64_t) {
    if (armed && batch == 3) fail("augmentation failed at epoch {} batch {}", epoch, batch);
  };
  Loader loader(synthetic(30), opts);
  loader.start_epoch(7);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(loader.next().has_value());
  try {
    loader.next();
    FAIL() << "no exception";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "augmentation failed at epoch 7 batch 3");
  }
  EXPECT_THROW(loader.next(), Error);  // the epoch cannot continue
  armed = false;
  EXPECT_EQ(run_epoch(loader, 7).size(), 8u);  // a new start works
}

TEST(LoaderTest, DestroysCleanlyWhileTheWorkerWaits) {
  for (int i = 0; i < 20; ++i) {
    Loader loader(synthetic(100), {.batch_size = 3, .prefetch = 1});
    loader.start_epoch(0);
    if (i % 2) loader.next();
  }
  Loader never_started(synthetic(10), {});
  EXPECT_THROW(never_started.next(), Error);
}

TEST(LoaderTest, RejectsBadOptions) {
  EXPECT_THROW(Loader(synthetic(4), {.batch_size = 0}), Error);
  EXPECT_THROW(Loader(synthetic(4, 3), {.mean = {0.1f, 0.2f}}), Error);
  EXPECT_THROW(Loader(synthetic(4), {.std = {0.0f}}), Error);
  EXPECT_THROW(Loader(synthetic(4), {.prefetch = 0}), Error);
}

TEST(LoaderTest, NoAllocationPerBatchAfterTheFirstEpoch) {
  LoaderOptions opts{.batch_size = 16, .seed = 4};
  std::atomic<long> hook_calls{0};
  opts.augment = [&](Tensor&, std::uint64_t, std::uint64_t, std::uint64_t) { ++hook_calls; };
  Loader loader(synthetic(250, 1, 8, 8), opts);
  run_epoch(loader, 0);
  double sum = 0;
  g_allocations = 0;
  g_count_allocations = true;
  for (std::int64_t epoch = 1; epoch < 4; ++epoch) {
    loader.start_epoch(epoch);
    while (auto b = loader.next()) sum += b->images.data<float>()[0] + double(b->indices.size());
  }
  g_count_allocations = false;
  EXPECT_EQ(g_allocations.load(), 0);
  EXPECT_EQ(hook_calls.load(), 4 * 16);
  EXPECT_GT(sum, 0);
}

}  // namespace
}  // namespace convkit::data
