// Activation folding, activations moved into max pooling, and views (see fusion.h).
#include "graph/fusion.h"

#include "ops/activation_table.h"
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
  std::vector<NodeId> consumer(graph.values().size(), -1);  // the last node reading a value
  for (std::size_t i = 0; i < graph.nodes().size(); ++i)
    for (ValueId v : graph.nodes()[i].inputs) {
      ++consumers[v];
      consumer[v] = NodeId(i);
    }
  for (ValueId v : graph.outputs()) ++consumers[v];

  std::vector<bool> removed(out.nodes.size(), false);
  for (std::size_t i = 0; i < out.nodes.size(); ++i) {
    Node& act = out.nodes[i];
    const auto act_type = act.op->type();
    // The activations whose table row says `fuses` (exact from y, with a oneDNN post-op).
    const char* fused = nullptr;
    for (const auto& row : ops::activation_table())
      if (row.fuses && row.op_type == act_type) fused = row.name.data();
    if (!fused || act.inputs.size() != 1) continue;
    const ValueId x = act.inputs[0];
    // An activation read only by a max pooling moves into it: max(act(x)) = act(max(x)) for a
    // non-decreasing act, and the pooled tensor is smaller (mnist_cnn: the ReLU backward on
    // [128, 64, 24, 24] was 3 ms of a 45 ms step). NOTE: exact for finite values; a window
    // holding NaN differs under ReLU (the unfused ReLU maps NaN to 0 before the max, the fused
    // max lets NaN win and maps it to 0 after), so such a window gives 0 instead of its largest
    // finite value: a diverged run either way.
    const ValueId a = act.outputs[0];
    if (consumers[a] == 1 && consumer[a] >= 0 && !removed[consumer[a]]) {
      Node& pool = out.nodes[consumer[a]];
      ops::Attrs attrs = pool.op->attrs();
      if (pool.op->type() == "MaxPool2D" && attrs.get_string("activation", "none") == "none") {
        attrs.set("activation", std::string(fused));
        pool.op = ops::make_op("MaxPool2D", attrs);
        pool.inputs[0] = x;
        removed[i] = true;
        continue;
      }
    }
    const NodeId p = graph.value(x).producer;
    if (p < 0 || consumers[x] != 1 || removed[p]) continue;
    Node& producer = out.nodes[p];
    const auto type = producer.op->type();
    // BatchNorm's kernels fuse ReLU only; Conv2D and Dense take any that fuses.
    if (type != "Conv2D" && type != "Dense" && !(type == "BatchNorm" && act_type == "ReLU"))
      continue;
    ops::Attrs attrs = producer.op->attrs();
    if (attrs.get_string("activation", "none") != "none") continue;
    attrs.set("activation", std::string(fused));
    producer.op = ops::make_op(type, attrs);
    out.alias[act.outputs[0]] = x;
    removed[i] = true;
  }
  // Flatten and Reshape keep the element order: their output is a view of their input's buffer
  // (an alias with its own shape), so they run no step and copy nothing (1 ms per step forward
  // and backward on mnist_cnn's [128, 64, 12, 12]).
  for (std::size_t i = 0; i < out.nodes.size(); ++i) {
    const Node& n = out.nodes[i];
    if (removed[i] || (n.op->type() != "Flatten" && n.op->type() != "Reshape")) continue;
    out.alias[n.outputs[0]] = out.alias[n.inputs[0]];
    removed[i] = true;
  }
  std::vector<Node> kept;
  for (std::size_t i = 0; i < out.nodes.size(); ++i)
    if (!removed[i]) kept.push_back(std::move(out.nodes[i]));
  out.nodes = std::move(kept);
  return out;
}

}  // namespace convkit::graph
