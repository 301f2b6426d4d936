// ParamStore layout and initialization.
#include "graph/param_store.h"

#include <convkit/util/rng.h>

namespace convkit::graph {

ParamStore::ParamStore(const Graph& graph) {
  ArenaLayout layout;
  std::vector<std::size_t> offsets;
  for (const Param& p : graph.params())
    offsets.push_back(layout.add(p.spec.shape.numel() * sizeof(float)));
  value_arena_.reserve(layout.size());
  grad_arena_.reserve(layout.size());
  numel_ = static_cast<std::int64_t>(layout.size() / sizeof(float));
  for (std::size_t i = 0; i < graph.params().size(); ++i) {
    const Param& p = graph.params()[i];
    values_.push_back(value_arena_.view(offsets[i], p.spec.shape));
    grads_.push_back(grad_arena_.view(offsets[i], p.spec.shape));
    slots_.push_back({p.name, static_cast<std::int64_t>(offsets[i] / sizeof(float)),
                      p.spec.shape.numel(), p.spec.trainable, p.spec.decay});
  }
  sync_trainable(graph);
}

void ParamStore::initialize(const Graph& graph, std::uint64_t seed) {
  for (std::size_t i = 0; i < graph.params().size(); ++i) {
    const Param& p = graph.params()[i];
    convkit::initialize(values_[i], p.init, p.spec.fan_in, p.spec.fan_out,
                        derive_key(seed, p.name));
  }
}

void ParamStore::sync_trainable(const Graph& graph) {
  for (std::size_t i = 0; i < graph.params().size(); ++i) {
    const Param& p = graph.params()[i];
    const Node& node = graph.node(p.node);
    slots_[i].trainable = p.spec.trainable && node.trainable;
    slots_[i].l1 = static_cast<float>(node.l1);
    slots_[i].l2 = static_cast<float>(2 * node.l2);
    slots_[i].lr_multiplier = node.lr_multiplier;
  }
}

ParamBlock ParamStore::block() const {
  return {reinterpret_cast<float*>(value_arena_.base()),
          reinterpret_cast<float*>(grad_arena_.base()), numel_, slots_};
}

}  // namespace convkit::graph
