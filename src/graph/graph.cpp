// Graph construction with immediate shape inference and parameter creation.
#include "graph/graph.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <cctype>
#include <cmath>

namespace convkit::graph {

namespace {
std::string shapes_str(std::span<const ops::TensorSpec> specs) {
  std::vector<std::string> parts;
  for (const auto& s : specs) parts.push_back(s.shape.str());
  return fmt::format("{}", fmt::join(parts, ", "));
}

std::vector<ops::TensorSpec> infer_node(const Node& node, std::span<const ops::TensorSpec> in) {
  try {
    return node.op->infer(in);
  } catch (const Error& e) {
    throw ShapeError(fmt::format("layer '{}' ({}): {} (input shapes: {})", node.name,
                                 node.op->type(), e.what(), shapes_str(in)));
  }
}
}  // namespace

std::string Graph::unique_name(std::string_view type) {
  std::string base;
  for (std::size_t i = 0; i < type.size(); ++i) {
    char c = type[i];
    // "MaxPool2D" -> "max_pool2d", "ReLU" -> "relu"
    if (std::isupper(static_cast<unsigned char>(c)) && i > 0 &&
        std::islower(static_cast<unsigned char>(type[i - 1])))
      base += '_';
    base += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  for (int k = 0;; ++k) {
    std::string name = k == 0 ? base : fmt::format("{}_{}", base, k);
    if (find_node(name) < 0) return name;
  }
}

NodeId Graph::find_node(std::string_view name) const {
  for (std::size_t i = 0; i < nodes_.size(); ++i)
    if (nodes_[i].name == name) return static_cast<NodeId>(i);
  return -1;
}

void Graph::set_regularizer(NodeId node, double l1, double l2) {
  Node& n = nodes_.at(node);
  if (!(l1 >= 0) || !(l2 >= 0) || !std::isfinite(l1) || !std::isfinite(l2))
    fail("layer '{}': regularizer l1 and l2 must be finite and >= 0, got l1 = {}, l2 = {}", n.name,
         l1, l2);
  n.l1 = l1;
  n.l2 = l2;
}

void Graph::set_lr_multiplier(NodeId node, double multiplier) {
  Node& n = nodes_.at(node);
  if (!(multiplier >= 0) || !std::isfinite(multiplier))
    fail("layer '{}': lr_multiplier must be finite and >= 0, got {}", n.name, multiplier);
  n.lr_multiplier = multiplier;
}

ValueId Graph::add_input(std::string name, const Shape& sample_shape, DType dtype) {
  std::vector<std::int64_t> dims{1};
  for (auto d : sample_shape.dims()) {
    if (d <= 0)
      fail("input '{}': every dimension must be positive, got {}", name, sample_shape.str());
    dims.push_back(d);
  }
  values_.push_back({name, {Shape(dims), dtype}, -1, 0});
  inputs_.push_back(static_cast<ValueId>(values_.size() - 1));
  return inputs_.back();
}

std::vector<ValueId> Graph::add_node(std::string name, std::shared_ptr<const ops::Op> op,
                                     std::vector<ValueId> inputs, bool trainable,
                                     const std::vector<InitOverride>& inits) {
  if (name.empty()) name = unique_name(op->type());
  if (find_node(name) >= 0) fail("duplicate layer name '{}'", name);
  Node node{name, std::move(op), std::move(inputs), {}, {}, trainable};
  std::vector<ops::TensorSpec> in;
  for (ValueId v : node.inputs) {
    if (v < 0 || v >= static_cast<ValueId>(values_.size()))
      fail("layer '{}': input value {} does not belong to this graph", name, v);
    in.push_back(values_[v].spec);
  }
  auto out = infer_node(node, in);
  const NodeId id = static_cast<NodeId>(nodes_.size());
  for (std::size_t k = 0; k < out.size(); ++k) {
    values_.push_back({out.size() == 1 ? name : fmt::format("{}:{}", name, k), out[k], id, int(k)});
    node.outputs.push_back(static_cast<ValueId>(values_.size() - 1));
  }
  for (auto& spec : node.op->params(in)) {
    Init init = spec.init;
    for (const auto& o : inits)
      if (o.param == spec.name && o.init.kind != InitKind::Default) init = o.init;
    if (init.kind == InitKind::Default)
      fail("op {} gave no default init for '{}'", node.op->type(), spec.name);
    params_.push_back({fmt::format("{}.{}", name, spec.name), spec, id, init});
    node.params.push_back(static_cast<ParamId>(params_.size() - 1));
  }
  for (const auto& o : inits) {
    if (o.init.kind == InitKind::Default) continue;
    bool known = false;
    for (ParamId p : node.params) known |= params_[p].spec.name == o.param;
    if (!known)
      fail("layer '{}' ({}) has no parameter '{}' to initialize", name, node.op->type(), o.param);
  }
  nodes_.push_back(std::move(node));
  return nodes_.back().outputs;
}

Graph Graph::with_input_shapes(const std::vector<Shape>& sample_shapes) const {
  if (sample_shapes.size() != inputs_.size())
    fail("with_input_shapes: {} shapes for {} inputs", sample_shapes.size(), inputs_.size());
  Graph out = *this;
  for (std::size_t i = 0; i < inputs_.size(); ++i) {
    Value& v = out.values_[inputs_[i]];
    const Shape& was = values_[inputs_[i]].spec.shape;
    if (sample_shapes[i].rank() + 1 != was.rank())
      fail("input '{}' is {} per sample; {} has another rank", v.name,
           Shape(std::vector<std::int64_t>(was.dims().begin() + 1, was.dims().end())).str(),
           sample_shapes[i].str());
    std::vector<std::int64_t> dims{1};
    for (auto d : sample_shapes[i].dims()) {
      if (d <= 0)
        fail("input '{}': every dimension must be positive, got {}", v.name,
             sample_shapes[i].str());
      dims.push_back(d);
    }
    v.spec.shape = Shape(dims);
  }
  for (const Node& node : out.nodes_) {
    std::vector<ops::TensorSpec> in;
    for (ValueId v : node.inputs) in.push_back(out.values_[v].spec);
    auto specs = infer_node(node, in);
    const auto params = node.op->params(in);
    for (std::size_t k = 0; k < params.size() && k < node.params.size(); ++k)
      if (params[k].shape != params_[node.params[k]].spec.shape)
        throw ShapeError(fmt::format(
            "layer '{}' ({}) takes one input size: its {} is {}, and its input {} here would "
            "need {} (a model takes other input sizes when global pooling, not Flatten, comes "
            "before its Dense layers; else resize the images to the model's input)",
            node.name, node.op->type(), params[k].name, params_[node.params[k]].spec.shape.str(),
            in.empty() ? std::string("?") : in[0].shape.str(), params[k].shape.str()));
    for (std::size_t k = 0; k < specs.size(); ++k) out.values_[node.outputs[k]].spec = specs[k];
  }
  return out;
}

std::vector<ops::TensorSpec> Graph::infer(std::int64_t batch) const {
  if (batch <= 0) fail("batch size must be positive, got {}", batch);
  std::vector<ops::TensorSpec> specs(values_.size());
  for (ValueId v : inputs_)
    specs[v] = {values_[v].spec.shape.with_batch(batch), values_[v].spec.dtype};
  for (const Node& node : nodes_) {
    std::vector<ops::TensorSpec> in;
    for (ValueId v : node.inputs) in.push_back(specs[v]);
    auto out = infer_node(node, in);
    for (std::size_t k = 0; k < out.size(); ++k) specs[node.outputs[k]] = out[k];
  }
  return specs;
}

std::vector<bool> Graph::requires_grad() const {
  std::vector<bool> grad(values_.size(), false);
  for (const Node& node : nodes_) {
    bool any = false;
    if (node.trainable)
      for (ParamId p : node.params) any |= params_[p].spec.trainable;
    for (std::size_t i = 0; i < node.inputs.size(); ++i)
      any |= grad[node.inputs[i]] && node.op->differentiable(int(i));
    for (ValueId v : node.outputs) grad[v] = any && values_[v].spec.dtype == DType::f32;
  }
  return grad;
}

}  // namespace convkit::graph
