// Model spec JSON: a graph written as data, so a model can be rebuilt without the C++ that
// built it (checkpoints carry one; configs may hand-write one). Format, version 1:
//
//   {"format": "convkit.model", "version": 1,
//    "inputs":  [{"name": "input", "shape": [1, 28, 28], "dtype": "f32"}],      // per sample
//    "nodes":   [{"name": "conv2d", "op": "Conv2D", "attrs": {"filters": 32, ...},
//                 "inputs": ["input"], "trainable": true}, ...],
//    "outputs": ["dense_1"],
//    "params":  [{"name": "conv2d.weight", "shape": [32, 1, 3, 3],
//                 "init": {"kind": "torch_uniform", "a": 0.0, "b": 0.0}}, ...]}
//
// Values are named as graph::Value::name: the producing node's name ("node:k" for the k-th
// output of a multi-output node), graph inputs by their own name. Attribute values map to JSON
// integers, floats (always written with a fraction or exponent, so 1.0 stays a double), bools,
// strings and lists of integers or of numbers. Reading rebuilds every op through ops::make_op
// and Graph::add_node, so shape rules run again: a tampered spec fails with a ShapeError.
// "attrs", "trainable" and "params" may be omitted in hand-written specs; when "params" is
// present the rebuilt parameters must match it name for name and shape for shape, and each
// recorded init is restored, so a rebuilt model initializes exactly like the original.
#pragma once

#include "graph/graph.h"

#include <memory>
#include <string>
#include <string_view>

namespace convkit::io {

inline constexpr std::string_view kModelSpecFormat = "convkit.model";
inline constexpr int kModelSpecVersion = 1;

// Serializes `graph`: JSON with one line per input, node and parameter. Throws Error when two
// values share a name or an attribute is not representable (a NaN or infinite float).
std::string graph_to_json(const graph::Graph& graph);

// Rebuilds a graph from graph_to_json() output. `source` names where the JSON came from (a file
// path, "checkpoint x.ckpt: metadata 'model'") and starts every error message, followed by the
// JSON path of the problem ("nodes[3].attrs.filters"). Shape rule violations throw ShapeError.
std::shared_ptr<graph::Graph> graph_from_json(std::string_view json, std::string_view source);

}  // namespace convkit::io
