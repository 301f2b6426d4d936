// Fusion pass run by compile(): an activation whose table row says `fuses` (ReLU, Tanh, Sigmoid,
// ReLU6; see ops/activation_table.cpp) that follows Conv2D or Dense, or a
// ReLU after BatchNorm (whose output feeds nothing else), is folded into that op's `activation`
// attribute, so the backend emits one primitive with a post-op (conv+bias+tanh, BN+ReLU).
// An activation whose only reader is a MaxPool2D moves into the pooling instead (it commutes
// with max and then runs on the smaller pooled tensor).
// Flatten and Reshape become aliases: views of their input's buffer with their own shape.
#pragma once

#include "graph/graph.h"

#include <vector>

namespace convkit::graph {

struct FusedGraph {
  std::vector<Node> nodes;     // the graph's nodes with fused pairs merged
  std::vector<ValueId> alias;  // alias[v]: the value that holds v's data (v itself if unfused;
                               // the shape of v may differ: a view such as Flatten's output)
};

FusedGraph fuse_activations(const Graph& graph);
// The identity: same nodes, no aliases (compile with fuse = false).
FusedGraph unfused(const Graph& graph);

}  // namespace convkit::graph
