// ParamStore: every parameter and buffer of a graph in one flat arena, gradients in a second
// arena with the same layout, and the slot table optimizers and all-reduce sweep over.
#pragma once

#include "graph/graph.h"

#include <convkit/tensor/arena.h>
#include <convkit/tensor/param_block.h>

#include <vector>

namespace convkit::graph {

class ParamStore {
 public:
  ParamStore() = default;
  explicit ParamStore(const Graph& graph);

  // Fills every parameter from its Init, deterministically from `seed`.
  void initialize(const Graph& graph, std::uint64_t seed);
  // Refreshes which slots the optimizer updates, their per-layer L1/L2 and learning-rate
  // multipliers (after freezing or unfreezing layers or changing a parameter group).
  void sync_trainable(const Graph& graph);

  Tensor value(ParamId id) const { return values_.at(id); }
  Tensor grad(ParamId id) const { return grads_.at(id); }
  std::int64_t numel() const { return numel_; }
  ParamBlock block() const;
  // The gradient arena, numel() floats (writable: all-reduce sums into it).
  float* grad_data() const { return reinterpret_cast<float*>(grad_arena_.base()); }
  const std::vector<ParamSlot>& slots() const { return slots_; }

 private:
  Arena value_arena_;
  Arena grad_arena_;
  std::vector<Tensor> values_;
  std::vector<Tensor> grads_;
  std::vector<ParamSlot> slots_;
  std::int64_t numel_ = 0;  // floats in each arena, padding included
};

}  // namespace convkit::graph
