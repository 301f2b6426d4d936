// The ONNX op table of the exporter: one small function per convkit op type, writing the ONNX
// node(s) that compute it at inference, with ONNX's attribute names (the reverse of
// import_ops.cpp). Pads are always explicit ([top, left, bottom, right] is ONNX's [h_begin,
// w_begin, h_end, w_end]), resolved from the graph's shapes. A fused activation becomes its own
// node after the op. Opsets 13 to 20; where an op came later, an exact expansion below it:
//   GELU       opset 20: Gelu (approximate "tanh" for the tanh form); below: 0.5 x (1 + erf(x /
//              sqrt 2)), or 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))), from Mul/Add/Erf/Tanh
//   HardSwish  opset 14: HardSwish; 13: x * HardSigmoid(x) (alpha 1/6, beta 0.5)
//   SiLU       x * Sigmoid(x) (ONNX has no SiLU/Swish up to opset 20)
#include "io/onnx/exporter.h"

#include "ops/activation.h"
#include "ops/batch_norm.h"
#include "ops/concat.h"
#include "ops/conv2d.h"
#include "ops/dense.h"
#include "ops/global_avg_pool.h"
#include "ops/pad.h"
#include "ops/pool2d.h"
#include "ops/resize.h"

#include <cmath>
#include <numbers>

namespace convkit::io::onnx_export {

namespace {

using K = ActivationKind;

struct Act {
  K kind = K::None;
  float alpha = 0, beta = 0;  // LeakyReLU/ELU slope; Clip/ReLU6 bounds
  bool gelu_tanh = false;
};

// A helper node "<layer>/<part>" writing a fresh tensor of the same name.
std::string step(Writer& w, std::string_view op, const std::string& layer, std::string_view part,
                 const std::vector<std::string>& inputs) {
  const std::string y = w.fresh(fmt::format("{}/{}", layer, part));
  w.node(op, y, inputs, y);
  return y;
}

// 0.5 x (1 + erf(x / sqrt 2)) or its tanh form, for opsets without Gelu.
void gelu_expansion(Writer& w, bool tanh_form, const std::string& name, const std::string& x,
                    const std::string& y) {
  std::string t;
  if (tanh_form) {
    const std::string x3 = step(w, "Mul", name, "x3", {step(w, "Mul", name, "x2", {x, x}), x});
    const std::string cubic = step(w, "Mul", name, "cubic", {x3, w.scalar(0.044715f)});
    const std::string u = step(w, "Mul", name, "u",
                               {step(w, "Add", name, "inner", {x, cubic}),
                                w.scalar(float(std::sqrt(2.0 / std::numbers::pi)))});
    t = step(w, "Tanh", name, "tanh", {u});
  } else {
    t = step(w, "Erf", name, "erf",
             {step(w, "Mul", name, "scaled", {x, w.scalar(float(1.0 / std::numbers::sqrt2))})});
  }
  const std::string one_plus = step(w, "Add", name, "one_plus", {t, w.scalar(1.0f)});
  w.node("Mul", name, {step(w, "Mul", name, "x_times", {x, one_plus}), w.scalar(0.5f)}, y);
}

onnx::NodeProto& hard_sigmoid(Writer& w, const std::string& name, const std::string& x,
                              const std::string& y) {
  onnx::NodeProto& n = w.node("HardSigmoid", name, {x}, y);
  set_float(n, "alpha", 1.0f / 6.0f);  // PyTorch's relu6(x + 3) / 6, not ONNX's default 0.2
  set_float(n, "beta", 0.5f);
  return n;
}

// The node(s) computing activation `a` of tensor x into y; the last one is named `name`.
void activation(Writer& w, const Act& a, const std::string& name, const std::string& x,
                const std::string& y) {
  switch (a.kind) {
    case K::ReLU:
      w.node("Relu", name, {x}, y);
      return;
    case K::LeakyReLU:
      set_float(w.node("LeakyRelu", name, {x}, y), "alpha", a.alpha);
      return;
    case K::ELU:
      set_float(w.node("Elu", name, {x}, y), "alpha", a.alpha);
      return;
    case K::Sigmoid:
      w.node("Sigmoid", name, {x}, y);
      return;
    case K::Tanh:
      w.node("Tanh", name, {x}, y);
      return;
    case K::ReLU6:
    case K::Clip:
      w.node("Clip", name, {x, w.scalar(a.alpha), w.scalar(a.beta)}, y);
      return;
    case K::HardSigmoid:
      hard_sigmoid(w, name, x, y);
      return;
    case K::HardSwish:
      if (w.opset() >= 14) {
        w.node("HardSwish", name, {x}, y);
      } else {
        const std::string gate = w.fresh(name + "/hard_sigmoid");
        hard_sigmoid(w, gate, x, gate);
        w.node("Mul", name, {x, gate}, y);
      }
      return;
    case K::SiLU:
      w.node("Mul", name, {x, step(w, "Sigmoid", name, "sigmoid", {x})}, y);
      return;
    case K::GELU:
      if (w.opset() >= 20)
        set_string(w.node("Gelu", name, {x}, y), "approximate", a.gelu_tanh ? "tanh" : "none");
      else
        gelu_expansion(w, a.gelu_tanh, name, x, y);
      return;
    default:
      fail("activation {} has no ONNX export", int(a.kind));
  }
}

// The op's own node: writing the node's output, or an intermediate that the fused activation
// (a node of its own, "<layer>/<activation>") reads. Returned for its attributes.
onnx::NodeProto& op_node(Writer& w, const graph::Node& node, std::string_view op_type,
                         const std::vector<std::string>& inputs, ops::FusedActivation fused) {
  const std::string y = w.out(node);
  if (fused == K::None) return w.node(op_type, node.name, inputs, y);
  const std::string pre = w.fresh(node.name + "/pre_activation");
  onnx::NodeProto& n = w.node(op_type, node.name, inputs, pre);  // stays valid as nodes are added
  const auto& info = ops::activation_info(fused);
  activation(w, {fused, float(info.alpha), float(info.beta)},
             fmt::format("{}/{}", node.name, info.name), pre, y);
  return n;
}

template <typename OpT>
const OpT& op_of(const graph::Node& node) {
  return static_cast<const OpT&>(*node.op);
}

void export_conv(Writer& w, const graph::Node& node) {
  const auto& op = op_of<ops::Conv2D>(node);
  const auto& a = op.conv_attrs();
  const Shape& x = w.shape(node.inputs[0]);
  std::vector<std::string> inputs{w.in(node, 0), w.param(node, 0)};
  if (a.bias) inputs.push_back(w.param(node, 1));
  onnx::NodeProto& n = op_node(w, node, "Conv", inputs, a.activation);
  set_ints(n, "kernel_shape", a.kernel);
  set_ints(n, "strides", a.stride);
  set_ints(n, "pads", op.resolved_pads(x[2], x[3]));
  set_ints(n, "dilations", a.dilation);
  set_int(n, "group", a.groups);
}

void export_dense(Writer& w, const graph::Node& node) {
  const auto& a = op_of<ops::Dense>(node).dense_attrs();
  std::vector<std::string> inputs{w.in(node, 0), w.param(node, 0)};
  if (a.bias) inputs.push_back(w.param(node, 1));
  set_int(op_node(w, node, "Gemm", inputs, a.activation), "transB", 1);  // weight [U, K]
}

void export_batch_norm(Writer& w, const graph::Node& node) {
  const auto& a = op_of<ops::BatchNorm>(node).bn_attrs();
  std::vector<std::string> inputs{w.in(node, 0)};
  for (int k = 0; k < 4; ++k) inputs.push_back(w.param(node, k));  // gamma, beta, mean, var
  onnx::NodeProto& n = op_node(w, node, "BatchNormalization", inputs, a.activation);
  set_float(n, "epsilon", float(a.epsilon));
  set_float(n, "momentum", float(1.0 - a.momentum));  // ONNX weighs the running statistic
}

void export_pool(Writer& w, const graph::Node& node) {
  const auto& op = op_of<ops::Pool2D>(node);
  const auto& a = op.pool_attrs();
  const Shape& x = w.shape(node.inputs[0]);
  const bool max = op.kind() == ops::PoolKind::Max;
  onnx::NodeProto& n = op_node(w, node, max ? "MaxPool" : "AveragePool", {w.in(node, 0)},
                               max ? a.activation : K::None);
  set_ints(n, "kernel_shape", a.kernel);
  set_ints(n, "strides", a.stride);
  set_ints(n, "pads", op.resolved_pads(x[2], x[3]));
  if (!max) set_int(n, "count_include_pad", a.count_include_pad ? 1 : 0);
}

void export_global_avg_pool(Writer& w, const graph::Node& node) {
  if (op_of<ops::GlobalAvgPool>(node).keepdims()) {
    w.node("GlobalAveragePool", node.name, {w.in(node, 0)}, w.out(node));
    return;
  }
  const std::string pooled = step(w, "GlobalAveragePool", node.name, "pool", {w.in(node, 0)});
  set_int(w.node("Flatten", node.name, {pooled}, w.out(node)), "axis",
          1);  // [N, C, 1, 1] -> [N, C]
}

void export_activation(Writer& w, const graph::Node& node) {
  const auto& op = op_of<ops::Activation>(node);
  activation(w, {op.kind(), float(op.alpha()), float(op.beta()), op.gelu_tanh()}, node.name,
             w.in(node, 0), w.out(node));
}

void export_softmax(Writer& w, const graph::Node& node) {
  set_int(w.node("Softmax", node.name, {w.in(node, 0)}, w.out(node)), "axis", 1);
}

void export_flatten(Writer& w, const graph::Node& node) {
  set_int(w.node("Flatten", node.name, {w.in(node, 0)}, w.out(node)), "axis", 1);
}

void export_reshape(Writer& w, const graph::Node& node) {
  std::vector<std::int64_t> shape{0};  // 0: the input's batch, whatever it is
  for (auto d : node.op->attrs().get_ints("shape", {})) shape.push_back(d);
  const std::string target = w.ints(node.name + ".shape", {std::int64_t(shape.size())}, shape);
  w.node("Reshape", node.name, {w.in(node, 0), target}, w.out(node));
}

void export_pad(Writer& w, const graph::Node& node) {
  const auto& a = op_of<ops::Pad>(node).pad_attrs();
  const auto [top, left, bottom, right] = a.pads;
  const std::string pads = w.ints(node.name + ".pads", {8}, {0, 0, top, left, 0, 0, bottom, right});
  onnx::NodeProto& n =
      w.node("Pad", node.name, {w.in(node, 0), pads, w.scalar(float(a.value))}, w.out(node));
  set_string(n, "mode", "constant");
}

// sizes = [N, C] of the input (Shape, Gather) then [height, width]: the batch stays dynamic.
// bilinear: src = (i + 0.5) in / out - 0.5, clamped (half_pixel); nearest: src[floor(i in / out)]
// (asymmetric, floor).
void export_resize(Writer& w, const graph::Node& node) {
  const auto& a = op_of<ops::Resize>(node).resize_attrs();
  const std::string& x = w.in(node, 0);
  const std::string shape = step(w, "Shape", node.name, "shape", {x});
  const std::string nc = step(w, "Gather", node.name, "batch_channels",
                              {shape, w.ints(node.name + ".nc_index", {2}, {0, 1})});
  const std::string hw = w.ints(node.name + ".size", {2}, {a.height, a.width});
  const std::string sizes = w.fresh(node.name + "/sizes");
  set_int(w.node("Concat", sizes, {nc, hw}, sizes), "axis", 0);
  const bool nearest = a.mode == "nearest";
  onnx::NodeProto& n = w.node("Resize", node.name, {x, "", "", sizes}, w.out(node));
  set_string(n, "mode", nearest ? "nearest" : "linear");
  set_string(n, "coordinate_transformation_mode", nearest ? "asymmetric" : "half_pixel");
  if (nearest) set_string(n, "nearest_mode", "floor");
}

// Add takes two inputs in ONNX: a chain for more.
void export_add(Writer& w, const graph::Node& node) {
  std::string sum = w.in(node, 0);
  const int n = int(node.inputs.size());
  for (int k = 1; k + 1 < n; ++k)
    sum = step(w, "Add", node.name, fmt::format("sum{}", k), {sum, w.in(node, k)});
  w.node("Add", node.name, {sum, w.in(node, n - 1)}, w.out(node));
}

void export_multiply(Writer& w, const graph::Node& node) {  // [N, C, 1, 1] broadcasts in ONNX
  w.node("Mul", node.name, {w.in(node, 0), w.in(node, 1)}, w.out(node));
}

void export_concat(Writer& w, const graph::Node& node) {
  std::vector<std::string> inputs;
  for (std::size_t k = 0; k < node.inputs.size(); ++k) inputs.push_back(w.in(node, int(k)));
  set_int(w.node("Concat", node.name, inputs, w.out(node)), "axis",
          op_of<ops::Concat>(node).axis());
}

// The identity at inference: its consumers read its input (an Identity only where the graph's
// output is bound to its own name).
void export_dropout(Writer& w, const graph::Node& node) {
  if (w.bound(node.outputs[0]))
    w.node("Identity", node.name, {w.in(node, 0)}, w.out(node));
  else
    w.bind(node.outputs[0], w.in(node, 0));
}

// clang-format off
const ExportRow kOps[] = {
  {"Conv2D",        export_conv},
  {"Dense",         export_dense},
  {"BatchNorm",     export_batch_norm},
  {"MaxPool2D",     export_pool},
  {"AvgPool2D",     export_pool},
  {"GlobalAvgPool", export_global_avg_pool},
  {"ReLU",          export_activation},
  {"LeakyReLU",     export_activation},
  {"ELU",           export_activation},
  {"GELU",          export_activation},
  {"SiLU",          export_activation},
  {"Sigmoid",       export_activation},
  {"Tanh",          export_activation},
  {"ReLU6",         export_activation},
  {"Clip",          export_activation},
  {"HardSwish",     export_activation},
  {"HardSigmoid",   export_activation},
  {"Softmax",       export_softmax},
  {"Flatten",       export_flatten},
  {"Reshape",       export_reshape},
  {"Pad",           export_pad},
  {"Resize",        export_resize},
  {"Add",           export_add},
  {"Multiply",      export_multiply},
  {"Concat",        export_concat},
  {"Dropout",       export_dropout},
};
// clang-format on

}  // namespace

const ExportRow* find_export(std::string_view op_type) {
  for (const auto& row : kOps)
    if (row.op_type == op_type) return &row;
  return nullptr;
}

}  // namespace convkit::io::onnx_export
