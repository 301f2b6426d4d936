// ModelState: what a Model owns — its graph and its parameters (internal header).
#pragma once

#include "graph/graph.h"
#include "graph/param_store.h"

#include <memory>

namespace convkit::nn::detail {

struct ModelState {
  std::shared_ptr<const graph::Graph> graph;  // shared between copies; never mutated in place
  graph::ParamStore params;
  std::uint64_t seed = 0;
};

// A state over `graph` with freshly laid-out (zeroed) parameters.
inline std::shared_ptr<ModelState> make_model_state(std::shared_ptr<const graph::Graph> graph) {
  auto state = std::make_shared<ModelState>();
  state->params = graph::ParamStore(*graph);
  state->graph = std::move(graph);
  return state;
}

}  // namespace convkit::nn::detail
