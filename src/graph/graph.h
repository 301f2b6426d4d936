// Graph: the model as a DAG of op nodes over values, with named parameters. Shapes are stored
// per sample (batch dim 1); compile() re-infers them for the real batch size. Building a node
// runs its shape rule at once, so a wrong shape is reported at the line that built the layer.
#pragma once

#include "ops/op.h"

#include <convkit/tensor/init.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace convkit::graph {

using ValueId = int;
using NodeId = int;
using ParamId = int;

struct Value {
  std::string name;
  ops::TensorSpec spec;  // with batch 1
  NodeId producer = -1;  // -1: a graph input
  int producer_output = 0;
};

struct Node {
  std::string name;  // unique, e.g. "conv2d_1"
  std::shared_ptr<const ops::Op> op;
  std::vector<ValueId> inputs;
  std::vector<ValueId> outputs;
  std::vector<ParamId> params;  // in the order of op->params()
  bool trainable = true;        // false: frozen, no weight gradients computed
  // Extra L1/L2 penalty on this node's decayed parameters (kernels), see nn::Regularizer.
  double l1 = 0, l2 = 0;
  double lr_multiplier = 1;  // its parameters' learning rate is the optimizer's times this
};

struct Param {
  std::string name;  // "<node>.<param>", e.g. "conv2d_1.weight"
  ops::ParamSpec spec;
  NodeId node = -1;
  Init init;  // resolved (never InitKind::Default)
};

// Per-parameter initializer overrides, by the ParamSpec name ("weight", "bias").
struct InitOverride {
  std::string param;
  Init init;
};

class Graph {
 public:
  // A graph input; `sample_shape` excludes the batch dim ({1, 28, 28} for MNIST).
  ValueId add_input(std::string name, const Shape& sample_shape, DType dtype = DType::f32);

  // Adds a node, infers its outputs and creates its parameters. `name` empty = automatic
  // ("<type>_<k>"). Throws ShapeError naming the layer, its type and the input shapes.
  std::vector<ValueId> add_node(std::string name, std::shared_ptr<const ops::Op> op,
                                std::vector<ValueId> inputs, bool trainable = true,
                                const std::vector<InitOverride>& inits = {});

  void set_outputs(std::vector<ValueId> outputs) { outputs_ = std::move(outputs); }

  const std::vector<Value>& values() const { return values_; }
  const std::vector<Node>& nodes() const { return nodes_; }
  const std::vector<Param>& params() const { return params_; }
  const std::vector<ValueId>& inputs() const { return inputs_; }
  const std::vector<ValueId>& outputs() const { return outputs_; }
  const Value& value(ValueId id) const { return values_.at(id); }
  const Node& node(NodeId id) const { return nodes_.at(id); }

  NodeId find_node(std::string_view name) const;  // -1 when absent
  void set_trainable(NodeId node, bool trainable) { nodes_.at(node).trainable = trainable; }
  // Throws Error naming the node when l1 or l2 is negative or not finite.
  void set_regularizer(NodeId node, double l1, double l2);
  // Throws Error naming the node when the multiplier is negative or not finite.
  void set_lr_multiplier(NodeId node, double multiplier);

  // The same graph (nodes, names, parameters) for inputs of other sample shapes, one per graph
  // input: every shape rule re-runs. A layer whose parameters would change shape (a Dense after
  // Flatten) cannot follow: ShapeError naming it and the sizes it takes.
  Graph with_input_shapes(const std::vector<Shape>& sample_shapes) const;

  // Value specs for batch size `batch`, in value order (shape rules re-run).
  std::vector<ops::TensorSpec> infer(std::int64_t batch) const;

  // Which values carry a gradient in training: those downstream of a trainable parameter.
  std::vector<bool> requires_grad() const;

 private:
  std::string unique_name(std::string_view type);
  std::vector<Value> values_;
  std::vector<Node> nodes_;
  std::vector<Param> params_;
  std::vector<ValueId> inputs_;
  std::vector<ValueId> outputs_;
};

}  // namespace convkit::graph
