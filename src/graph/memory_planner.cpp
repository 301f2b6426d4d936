// Liveness-based offset assignment (see memory_planner.h).
#include "graph/memory_planner.h"

#include <convkit/tensor/arena.h>

#include <algorithm>
#include <numeric>

namespace convkit::graph {

MemoryPlan plan_memory(const std::vector<BufferRequest>& requests) {
  MemoryPlan plan;
  plan.offsets.assign(requests.size(), 0);
  std::vector<std::size_t> order(requests.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    return requests[a].bytes > requests[b].bytes;
  });

  struct Placed {
    std::size_t offset, bytes;
  };
  std::vector<std::size_t> placed;  // indices already assigned
  std::vector<Placed> busy;
  for (std::size_t i : order) {
    const auto& r = requests[i];
    const std::size_t bytes = align_up(r.bytes);
    plan.naive += bytes;
    busy.clear();
    for (std::size_t j : placed) {
      const auto& q = requests[j];
      if (q.first <= r.last && r.first <= q.last)
        busy.push_back({plan.offsets[j], align_up(q.bytes)});
    }
    std::sort(busy.begin(), busy.end(),
              [](const Placed& a, const Placed& b) { return a.offset < b.offset; });
    // Best fit: the smallest gap between busy ranges that holds the buffer, else the end.
    std::size_t best = SIZE_MAX, best_gap = SIZE_MAX, cursor = 0;
    for (const auto& b : busy) {
      if (b.offset >= cursor + bytes && b.offset - cursor < best_gap) {
        best = cursor;
        best_gap = b.offset - cursor;
      }
      cursor = std::max(cursor, b.offset + b.bytes);
    }
    if (best == SIZE_MAX) best = cursor;
    plan.offsets[i] = best;
    plan.total = std::max(plan.total, best + bytes);
    placed.push_back(i);
  }
  return plan;
}

}  // namespace convkit::graph
