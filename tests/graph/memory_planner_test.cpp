// Memory planner: buffers share bytes exactly when their lifetimes do not overlap.
#include "graph/memory_planner.h"

#include <gtest/gtest.h>

namespace convkit::graph {
namespace {

bool overlaps(const BufferRequest& a, std::size_t oa, const BufferRequest& b, std::size_t ob) {
  bool time = a.first <= b.last && b.first <= a.last;
  bool space = oa < ob + b.bytes && ob < oa + a.bytes;
  return time && space;
}

TEST(MemoryPlannerTest, ReusesMemoryOfDeadBuffers) {
  // A chain: each buffer lives for two steps, like activations of a sequential inference plan.
  std::vector<BufferRequest> r;
  for (int i = 0; i < 10; ++i) r.push_back({1000, i, i + 1});
  auto plan = plan_memory(r);
  EXPECT_EQ(plan.naive, 10u * 1024);
  EXPECT_LE(plan.total, 2u * 1024);  // two live at a time
  for (std::size_t i = 0; i < r.size(); ++i)
    for (std::size_t j = i + 1; j < r.size(); ++j)
      EXPECT_FALSE(overlaps(r[i], plan.offsets[i], r[j], plan.offsets[j]));
}

TEST(MemoryPlannerTest, NeverOverlapsLiveBuffersOnRandomLifetimes) {
  std::vector<BufferRequest> r;
  unsigned s = 12345;
  auto next = [&] { return s = s * 1103515245u + 12345u, (s >> 16) & 0x7fff; };
  for (int i = 0; i < 200; ++i) {
    int a = int(next() % 50), b = a + int(next() % 20);
    r.push_back({std::size_t(1 + next() % 5000), a, b});
  }
  auto plan = plan_memory(r);
  for (std::size_t i = 0; i < r.size(); ++i) {
    EXPECT_EQ(plan.offsets[i] % 64, 0u);
    for (std::size_t j = i + 1; j < r.size(); ++j)
      ASSERT_FALSE(overlaps(r[i], plan.offsets[i], r[j], plan.offsets[j])) << i << " vs " << j;
  }
  EXPECT_LT(plan.total, plan.naive);
}

}  // namespace
}  // namespace convkit::graph
