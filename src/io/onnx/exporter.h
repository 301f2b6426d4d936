// ONNX export internals: the Writer that the op table's functions add nodes and initializers
// through (unique tensor names, shared scalar constants, the node's parameters as float32
// initializers), and the op table itself (export_ops.cpp): one function per convkit op type.
// Shapes here are convkit's per-sample graph shapes with batch 1: [1, C, H, W].
#pragma once

#include "graph/graph.h"
#include "graph/param_store.h"
#include "io/onnx/onnx_file.h"

#include <cstdint>
#include <map>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace convkit::io::onnx_export {

class Writer {
 public:
  Writer(onnx::GraphProto& out, std::int64_t opset, const graph::Graph& graph,
         const graph::ParamStore& params);

  std::int64_t opset() const { return opset_; }
  const graph::Graph& graph() const { return graph_; }

  // Claims `name` as a tensor name; a name already taken gets a suffix ("x_1").
  std::string fresh(const std::string& name);
  // The ONNX name of a convkit value. Graph inputs and outputs are bound before the walk; out()
  // binds a node's output to a fresh name from the convkit value's name.
  const std::string& name(graph::ValueId id) const;
  bool bound(graph::ValueId id) const { return names_.count(id) > 0; }
  void bind(graph::ValueId id, const std::string& name) { names_[id] = name; }
  const std::string& in(const graph::Node& node, int k) const { return name(node.inputs.at(k)); }
  std::string out(const graph::Node& node);
  // The value's [1, C, H, W] graph shape.
  const Shape& shape(graph::ValueId id) const { return graph_.value(id).spec.shape; }

  // A node named `name` (the convkit layer, or "<layer>/<part>" for helper nodes).
  onnx::NodeProto& node(std::string_view op_type, const std::string& name,
                        const std::vector<std::string>& inputs, const std::string& output);
  // Initializers: the node's k-th parameter under its convkit name ("conv1.weight"), f32 and
  // i64 constants, and f32 scalars shared by value.
  std::string param(const graph::Node& node, int k);
  std::string floats(const std::string& name, const std::vector<std::int64_t>& dims,
                     const std::vector<float>& values);
  std::string ints(const std::string& name, const std::vector<std::int64_t>& dims,
                   const std::vector<std::int64_t>& values);
  std::string scalar(float value);

 private:
  onnx::GraphProto& out_;
  std::int64_t opset_;
  const graph::Graph& graph_;
  const graph::ParamStore& params_;
  std::set<std::string> used_;
  std::map<graph::ValueId, std::string> names_;
  std::map<std::uint32_t, std::string> scalars_;  // by the float's bits
};

// Attribute setters with ONNX's names.
void set_int(onnx::NodeProto& n, const std::string& name, std::int64_t v);
void set_float(onnx::NodeProto& n, const std::string& name, float v);
void set_string(onnx::NodeProto& n, const std::string& name, const std::string& v);
void set_ints(onnx::NodeProto& n, const std::string& name, std::span<const std::int64_t> v);

// Exports one node: reads w.in(node, k), writes w.out(node) (or binds the output to another name).
using ExportFn = void (*)(Writer& w, const graph::Node& node);

struct ExportRow {
  std::string_view op_type;  // convkit's op->type()
  ExportFn fn;
};
// The row of a convkit op type; nullptr when it cannot be exported.
const ExportRow* find_export(std::string_view op_type);

}  // namespace convkit::io::onnx_export
