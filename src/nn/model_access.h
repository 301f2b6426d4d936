// ModelAccess: a Model's graph and parameter store for the library's own folders above nn/
// (io/ checkpoints and model specs) and for tests, so none of them reaches into
// nn::detail::ModelState. Internal header, not public API.
#pragma once

#include <convkit/nn/model.h>

#include "graph/graph.h"
#include "graph/param_store.h"

#include <cstdint>
#include <memory>

namespace convkit::nn {

class ModelAccess {
 public:
  // The graph (shared between copies of a model; never mutated in place).
  static const graph::Graph& graph(const Model& model);
  // The parameters: value(id) and grad(id) are views, so writes change the model.
  static const graph::ParamStore& params(const Model& model);
  static graph::ParamStore& params(Model& model);  // for compiling graph::Plans over it
  // A model over `graph` with zeroed parameters and `seed` for plans compiled from it
  // (deserialized checkpoints, ONNX import): fill it through params(model).value(id).
  static Model from_graph(std::shared_ptr<const graph::Graph> graph, std::uint64_t seed = 0);
};

}  // namespace convkit::nn
