// Activation folding (see fusion.h).
#include "graph/fusion.h"

#include "ops/registry.h"

#include <algorithm>
#include <numeric>

namespace convkit::graph {

FusedGraph unfused(const Graph& graph) {
  FusedGraph out{graph.nodes(), std::vector<ValueId>(graph.values().size())};
  std::iota(out.alias.begin(), out.alias.end(), 0);
  return out;
}

FusedGraph fuse_activations(const Graph& graph) {
  FusedGraph out = unfused(graph);
  std::vector<int> consumers(graph.values().size(), 0);
  for (const Node& n : graph.nodes())
    for (ValueId v : n.inputs) ++consumers[v];
  for (ValueId v : graph.outputs()) ++consumers[v];

  std::vector<bool> removed(out.nodes.size(), false);
  for (std::size_t i = 0; i < out.nodes.size(); ++i) {
    Node& act = out.nodes[i];
    const auto act_type = act.op->type();
    const char* fused = act_type == "ReLU"      ? "relu"
                        : act_type == "Tanh"    ? "tanh"
                        : act_type == "Sigmoid" ? "sigmoid"
                                                : nullptr;
    if (!fused || act.inputs.size() != 1) continue;
    const ValueId x = act.inputs[0];
    const NodeId p = graph.value(x).producer;
    if (p < 0 || consumers[x] != 1 || removed[p]) continue;
    Node& producer = out.nodes[p];
    const auto type = producer.op->type();
    // BatchNorm's kernels fuse ReLU only; Conv2D and Dense take any of the three.
    if (type != "Conv2D" && type != "Dense" && !(type == "BatchNorm" && act_type == "ReLU")) continue;
    ops::Attrs attrs = producer.op->attrs();
    if (attrs.get_string("activation", "none") != "none") continue;
    attrs.set("activation", std::string(fused));
    producer.op = ops::make_op(type, attrs);
    out.alias[act.outputs[0]] = x;
    removed[i] = true;
  }
  std::vector<Node> kept;
  for (std::size_t i = 0; i < out.nodes.size(); ++i)
    if (!removed[i]) kept.push_back(std::move(out.nodes[i]));
  out.nodes = std::move(kept);
  return out;
}

}  // namespace convkit::graph
