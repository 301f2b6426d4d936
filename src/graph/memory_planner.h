// Memory planning by liveness: buffers whose lifetimes (inclusive step ranges) do not overlap
// may share bytes. Greedy best-fit by decreasing size, the usual offline heuristic; every
// offset is 64-byte aligned.
#pragma once

#include <cstddef>
#include <vector>

namespace convkit::graph {

struct BufferRequest {
  std::size_t bytes = 0;
  int first = 0;  // first step that touches the buffer
  int last = 0;   // last step that touches it (inclusive)
};

struct MemoryPlan {
  std::vector<std::size_t> offsets;  // per request
  std::size_t total = 0;             // arena bytes needed
  std::size_t naive = 0;             // sum of all buffers (what no reuse would need)
};

MemoryPlan plan_memory(const std::vector<BufferRequest>& requests);

}  // namespace convkit::graph
