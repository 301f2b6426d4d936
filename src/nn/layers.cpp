// Layer structs -> graph nodes: each builds its op from its options and adds it to the graph.
#include <convkit/nn/layers.h>

#include "graph/graph.h"
#include "ops/activation.h"
#include "ops/add.h"
#include "ops/batch_norm.h"
#include "ops/concat.h"
#include "ops/conv2d.h"
#include "ops/dense.h"
#include "ops/dropout.h"
#include "ops/global_avg_pool.h"
#include "ops/multiply.h"
#include "ops/pad.h"
#include "ops/pool2d.h"
#include "ops/reshape.h"
#include "ops/resize.h"
#include "ops/softmax.h"

namespace convkit::nn {

namespace {

Value add(const Value& x, const std::string& name, std::shared_ptr<const ops::Op> op,
          bool trainable = true, std::vector<graph::InitOverride> inits = {},
          Regularizer reg = {}) {
  if (!x.defined()) fail("layer '{}': called on an undefined Value (use nn::Input first)", name);
  auto outs = x.graph()->add_node(name, std::move(op), {x.id()}, trainable, inits);
  if (reg.l1 != 0 || reg.l2 != 0)
    x.graph()->set_regularizer(x.graph()->value(outs[0]).producer, reg.l1, reg.l2);
  return Value(x.graph(), outs[0]);
}

ops::Padding to_op(Padding p) {
  switch (p) {
    case Padding::Valid:
      return ops::Padding::Valid;
    case Padding::Same:
      return ops::Padding::Same;
    case Padding::Explicit:
      return ops::Padding::Explicit;
  }
  return ops::Padding::Valid;
}

// The op of an activation (the activation table's op type), with the Activation op's parameters.
std::shared_ptr<const ops::Op> activation_op(Activation a, ops::ActivationAttrs attrs = {}) {
  if (a == Activation::None) return nullptr;
  if (a == Activation::Softmax) return std::make_shared<ops::Softmax>();
  return std::make_shared<ops::Activation>(a, attrs);
}

// The name of the node that produced x ("conv2d_1"), for naming its activation node.
std::string producer_name(const Value& x) {
  const auto& value = x.graph()->value(x.id());
  return value.producer < 0 ? value.name : x.graph()->node(value.producer).name;
}

}  // namespace

Value apply_activation(const Value& x, Activation activation, const std::string& layer_name) {
  auto op = activation_op(activation);
  if (!op) return x;
  return add(x, (layer_name.empty() ? producer_name(x) : layer_name) + "_act", op);
}

Value Conv2D::operator()(const Value& x) const {
  ops::Conv2DAttrs a{.filters = filters,
                     .kernel = {kernel.h, kernel.w},
                     .stride = {stride.h, stride.w},
                     .dilation = {dilation.h, dilation.w},
                     .padding = to_op(padding),
                     .pads = pads,
                     .groups = groups,
                     .bias = use_bias};
  auto y = add(x, name, std::make_shared<ops::Conv2D>(a), trainable,
               {{"weight", kernel_init}, {"bias", use_bias ? bias_init : Init{}}}, regularizer);
  return apply_activation(y, activation, "");
}

Value Dense::operator()(const Value& x) const {
  ops::DenseAttrs a{.units = units, .bias = use_bias};
  auto y = add(x, name, std::make_shared<ops::Dense>(a), trainable,
               {{"weight", kernel_init}, {"bias", use_bias ? bias_init : Init{}}}, regularizer);
  return apply_activation(y, activation, "");
}

Value MaxPool2D::operator()(const Value& x) const {
  ops::Pool2DAttrs a{.kernel = {pool.h, pool.w},
                     .stride = {stride.h, stride.w},
                     .padding = to_op(padding),
                     .pads = pads};
  return add(x, name, std::make_shared<ops::Pool2D>(ops::PoolKind::Max, a));
}

Value AvgPool2D::operator()(const Value& x) const {
  ops::Pool2DAttrs a{.kernel = {pool.h, pool.w},
                     .stride = {stride.h, stride.w},
                     .padding = to_op(padding),
                     .pads = pads,
                     .count_include_pad = count_include_pad};
  return add(x, name, std::make_shared<ops::Pool2D>(ops::PoolKind::Avg, a));
}

Value GlobalAvgPool2D::operator()(const Value& x) const {
  return add(x, name, std::make_shared<ops::GlobalAvgPool>(keepdims));
}

Value BatchNorm::operator()(const Value& x) const {
  ops::BatchNormAttrs a{.momentum = momentum, .epsilon = epsilon};
  auto y = add(x, name, std::make_shared<ops::BatchNorm>(a), trainable, {{"gamma", gamma_init}});
  return apply_activation(y, activation, "");
}

Value Dropout::operator()(const Value& x) const {
  return add(x, name, std::make_shared<ops::Dropout>(ops::DropoutAttrs{.rate = rate}));
}

Value SpatialDropout2D::operator()(const Value& x) const {
  return add(x, name,
             std::make_shared<ops::Dropout>(ops::DropoutAttrs{.rate = rate, .spatial = true}));
}

Value ReLU::operator()(const Value& x) const {
  return add(x, name, activation_op(Activation::ReLU));
}
Value LeakyReLU::operator()(const Value& x) const {
  return add(x, name, activation_op(Activation::LeakyReLU, {.alpha = alpha}));
}
Value ELU::operator()(const Value& x) const {
  return add(x, name, activation_op(Activation::ELU, {.alpha = alpha}));
}
Value GELU::operator()(const Value& x) const {
  return add(x, name, activation_op(Activation::GELU, {.gelu_tanh = tanh_approximation}));
}
Value SiLU::operator()(const Value& x) const {
  return add(x, name, activation_op(Activation::SiLU));
}
Value Sigmoid::operator()(const Value& x) const {
  return add(x, name, activation_op(Activation::Sigmoid));
}
Value Tanh::operator()(const Value& x) const {
  return add(x, name, activation_op(Activation::Tanh));
}
Value Softmax::operator()(const Value& x) const {
  return add(x, name, activation_op(Activation::Softmax));
}
Value ReLU6::operator()(const Value& x) const {
  return add(x, name, activation_op(Activation::ReLU6));
}
Value Clip::operator()(const Value& x) const {
  return add(x, name, activation_op(Activation::Clip, {.min = min, .max = max}));
}
Value HardSwish::operator()(const Value& x) const {
  return add(x, name, activation_op(Activation::HardSwish));
}
Value HardSigmoid::operator()(const Value& x) const {
  return add(x, name, activation_op(Activation::HardSigmoid));
}
Value Resize::operator()(const Value& x) const {
  return add(x, name,
             std::make_shared<ops::Resize>(
                 ops::ResizeAttrs{.height = height, .width = width, .mode = mode}));
}

Value Pad::operator()(const Value& x) const {
  return add(x, name, std::make_shared<ops::Pad>(ops::PadAttrs{.pads = pads, .value = value}));
}

Value Flatten::operator()(const Value& x) const {
  return add(x, name, std::make_shared<ops::Reshape>());
}
Value Reshape::operator()(const Value& x) const {
  if (shape.empty())
    fail("layer Reshape{}: 'shape' must not be empty (use Flatten)",
         name.empty() ? "" : " '" + name + "'");
  return add(x, name, std::make_shared<ops::Reshape>(shape));
}

namespace {
Value add_multi(const std::vector<Value>& xs, const std::string& name,
                std::shared_ptr<const ops::Op> op) {
  if (xs.size() < 2) fail("layer {}: needs at least 2 inputs, got {}", op->type(), xs.size());
  std::vector<int> ids;
  for (const auto& x : xs) {
    if (!x.defined() || x.graph() != xs[0].graph())
      fail("layer {}: all inputs must be Values of the same model", op->type());
    ids.push_back(x.id());
  }
  auto outs = xs[0].graph()->add_node(name, std::move(op), ids);
  return Value(xs[0].graph(), outs[0]);
}
}  // namespace

Value Add::operator()(const std::vector<Value>& xs) const {
  return add_multi(xs, name, std::make_shared<ops::Add>());
}
Value Multiply::operator()(const std::vector<Value>& xs) const {
  if (xs.size() != 2) fail("layer Multiply: needs exactly 2 inputs, got {}", xs.size());
  return add_multi(xs, name, std::make_shared<ops::Multiply>());
}
Value Concat::operator()(const std::vector<Value>& xs) const {
  return add_multi(xs, name, std::make_shared<ops::Concat>(axis));
}

Shape Value::shape() const {
  if (!graph_) fail("shape() of an undefined Value");
  const auto& dims = graph_->value(id_).spec.shape.dims();
  return Shape(std::vector<std::int64_t>(dims.begin() + 1, dims.end()));
}

Value Input(const Shape& shape, std::string name) {
  auto graph = std::make_shared<graph::Graph>();
  int id = graph->add_input(std::move(name), shape);
  return Value(graph, id);
}

}  // namespace convkit::nn
