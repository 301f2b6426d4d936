// The ONNX op table of the importer: one small function per ONNX op, reading ONNX's own attribute
// names, that adds the matching convkit layer (with its weights) or folds constants. Opsets 7 to
// 20: where an attribute became an input (Clip's bounds, Pad's pads, ReduceMean's axes, Dropout's
// ratio, Unsqueeze's axes) both forms are read.
#include "io/onnx/importer.h"

#include <convkit/nn/layers.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <optional>

namespace convkit::io::onnx_import {

namespace {

bool all_const(const Context& cx, const onnx::NodeProto& node) {
  for (int k = 0; k < node.input_size(); ++k)
    if (cx.present(node.input(k)) && !cx.is_const(node.input(k))) return false;
  return true;
}

// The per-sample (batch dropped) rank-4 check of conv and pooling inputs.
Shape image_shape(const onnx::NodeProto& node, const nn::Value& x) {
  const Shape s = x.shape();
  if (s.rank() != 3)
    node_fail(node, "needs an [N, C, H, W] input, got [N, {}]", fmt::join(s.dims(), ", "));
  return s;
}

// Pads [top, left, bottom, right] from ONNX's pads [h_begin, w_begin, h_end, w_end] or auto_pad.
nn::Pads pads_of(const onnx::NodeProto& node, const Shape& x, std::array<std::int64_t, 2> kernel,
                 std::array<std::int64_t, 2> stride, std::array<std::int64_t, 2> dilation) {
  const std::string auto_pad = attr_string(node, "auto_pad", "NOTSET");
  if (auto_pad == "NOTSET") {
    auto p = attr_ints(node, "pads", {0, 0, 0, 0});
    if (p.size() != 4) node_fail(node, "pads must have 4 values for 2-D, got {}", p.size());
    for (auto v : p)
      if (v < 0) node_fail(node, "negative pads are not supported");
    return {p[0], p[1], p[2], p[3]};
  }
  if (auto_pad == "VALID") return {0, 0, 0, 0};
  if (auto_pad != "SAME_UPPER" && auto_pad != "SAME_LOWER")
    node_fail(node, "auto_pad '{}' is not one of NOTSET, VALID, SAME_UPPER, SAME_LOWER", auto_pad);
  std::array<std::int64_t, 2> begin{}, end{};
  for (int a = 0; a < 2; ++a) {
    const std::int64_t in = x[1 + a], out = (in + stride[a] - 1) / stride[a];
    const std::int64_t total =
        std::max<std::int64_t>(0, (out - 1) * stride[a] + (kernel[a] - 1) * dilation[a] + 1 - in);
    const std::int64_t small = total / 2, large = total - small;
    begin[a] = auto_pad == "SAME_UPPER" ? small : large;
    end[a] = auto_pad == "SAME_UPPER" ? large : small;
  }
  return {begin[0], begin[1], end[0], end[1]};
}

std::array<std::int64_t, 2> pair_attr(const onnx::NodeProto& node, std::string_view name,
                                      std::int64_t fallback) {
  auto v = attr_ints(node, name, {fallback, fallback});
  if (v.size() != 2) node_fail(node, "{} must have 2 values (2-D), got {}", name, v.size());
  return {v[0], v[1]};
}

void import_conv(Context& cx, const onnx::NodeProto& node) {
  // A zero Pad before it (see Context::FoldedPad): read the Pad's input, pad here.
  const auto folded = cx.folded_pads().find(node.input(0));
  nn::Pads extra{};
  std::optional<nn::Value> padded_input;
  if (folded != cx.folded_pads().end()) {
    extra = folded->second.pads;
    const nn::Value* v = cx.find_value(folded->second.input);
    if (!v) node_fail(node, "its padded input '{}' is a constant", folded->second.input);
    padded_input = *v;
  }
  const nn::Value x = padded_input ? *padded_input : cx.value(node, 0);
  const Shape x_in = image_shape(node, x);
  const Shape xs{x_in[0], x_in[1] + extra[0] + extra[2], x_in[2] + extra[1] + extra[3]};
  const Const& w = cx.constant(node, 1);
  if (w.dims.size() != 4)
    node_fail(node, "only 2-D convolutions are supported (weight rank {})", w.dims.size());
  const std::int64_t groups = attr_int(node, "group", 1);
  auto kernel = pair_attr(node, "kernel_shape", 0);
  if (kernel[0] == 0) kernel = {w.dims[2], w.dims[3]};
  if (kernel[0] != w.dims[2] || kernel[1] != w.dims[3])
    node_fail(node, "kernel_shape [{}, {}] disagrees with the weight's [{}, {}]", kernel[0],
              kernel[1], w.dims[2], w.dims[3]);
  if (w.dims[1] * groups != xs[0])
    node_fail(node, "weight takes {} x {} groups input channels, the input has {}", w.dims[1],
              groups, xs[0]);
  const auto stride = pair_attr(node, "strides", 1), dilation = pair_attr(node, "dilations", 1);
  nn::Pads pads = pads_of(node, xs, kernel, stride, dilation);
  for (std::size_t i = 0; i < 4; ++i) pads[i] += extra[i];
  const bool bias = cx.present(node.input_size() > 2 ? node.input(2) : "");
  const std::string name = cx.layer_name(node);
  nn::Value y = nn::Conv2D{.filters = w.dims[0],
                           .kernel = {kernel[0], kernel[1]},
                           .stride = {stride[0], stride[1]},
                           .padding = nn::Padding::Explicit,
                           .pads = pads,
                           .dilation = {dilation[0], dilation[1]},
                           .groups = groups,
                           .use_bias = bias,
                           .name = name}(x);
  if (cx.flip_input_channels && node.input(0) == cx.input_name) {
    if (groups != 1) node_fail(node, "BGR -> RGB needs an ungrouped first convolution");
    Const flipped = w;  // reverse dim 1 of [F, C, kh, kw]
    const std::int64_t f = w.dims[0], c = w.dims[1], hw = w.dims[2] * w.dims[3];
    for (std::int64_t o = 0; o < f; ++o)
      for (std::int64_t i = 0; i < c; ++i)
        for (std::int64_t k = 0; k < hw; ++k)
          flipped.f[(o * c + i) * hw + k] = w.f[(o * c + (c - 1 - i)) * hw + k];
    cx.add_weight(name + ".weight", flipped, w.dims);
  } else {
    cx.add_weight(name + ".weight", w, w.dims);
  }
  if (bias) cx.add_weight(name + ".bias", cx.constant(node, 2), {w.dims[0]});
  cx.set_value(node.output(0), y);
}

void import_batch_norm(Context& cx, const onnx::NodeProto& node) {
  if (attr_int(node, "spatial", 1) != 1) node_fail(node, "spatial=0 is not supported");
  if (attr_int(node, "training_mode", 0) != 0) node_fail(node, "training_mode=1 is not supported");
  if (node.output_size() > 1)
    for (int k = 1; k < node.output_size(); ++k)
      if (!node.output(k).empty())
        node_fail(node, "the training outputs (running statistics) are not supported");
  const nn::Value x = cx.value(node, 0);
  const std::int64_t c = x.shape()[0];
  const std::string name = cx.layer_name(node);
  nn::Value y = nn::BatchNorm{.momentum = 1.0 - attr_float(node, "momentum", 0.9f),
                              .epsilon = attr_float(node, "epsilon", 1e-5f),
                              .name = name}(x);
  const char* params[] = {"gamma", "beta", "running_mean", "running_var"};
  for (int k = 0; k < 4; ++k) cx.add_weight(name + "." + params[k], cx.constant(node, k + 1), {c});
  cx.set_value(node.output(0), y);
}

template <typename L>
void import_simple(Context& cx, const onnx::NodeProto& node) {
  cx.set_value(node.output(0), L{.name = cx.layer_name(node)}(cx.value(node, 0)));
}

void import_leaky_relu(Context& cx, const onnx::NodeProto& node) {
  cx.set_value(node.output(0), nn::LeakyReLU{.alpha = attr_float(node, "alpha", 0.01f),
                                             .name = cx.layer_name(node)}(cx.value(node, 0)));
}

void import_elu(Context& cx, const onnx::NodeProto& node) {
  cx.set_value(node.output(0), nn::ELU{.alpha = attr_float(node, "alpha", 1.0f),
                                       .name = cx.layer_name(node)}(cx.value(node, 0)));
}

void import_hard_sigmoid(Context& cx, const onnx::NodeProto& node) {
  const float alpha = attr_float(node, "alpha", 0.2f), beta = attr_float(node, "beta", 0.5f);
  if (std::abs(alpha - 1.0f / 6.0f) > 1e-6f || std::abs(beta - 0.5f) > 1e-6f)
    node_fail(
        node,
        "only alpha = 1/6, beta = 0.5 (relu6(x + 3) / 6) is supported, got alpha = {}, beta = {}",
        alpha, beta);
  import_simple<nn::HardSigmoid>(cx, node);
}

void import_clip(Context& cx, const onnx::NodeProto& node) {
  const float inf = std::numeric_limits<float>::infinity();
  float lo = attr_float(node, "min", -inf), hi = attr_float(node, "max", inf);
  if (node.input_size() > 1 && cx.present(node.input(1))) lo = float(cx.constant(node, 1).at(0));
  if (node.input_size() > 2 && cx.present(node.input(2))) hi = float(cx.constant(node, 2).at(0));
  const nn::Value x = cx.value(node, 0);
  const std::string name = cx.layer_name(node);
  nn::Value y;
  if (lo == 0 && hi == 6) {
    y = nn::ReLU6{.name = name}(x);
  } else if (lo == 0 && hi == inf) {
    y = nn::ReLU{.name = name}(x);
  } else {
    if (!std::isfinite(lo) || !std::isfinite(hi))
      node_fail(node, "a one-sided clip other than ReLU is not supported");
    y = nn::Clip{.min = lo, .max = hi, .name = name}(x);
  }
  cx.set_value(node.output(0), y);
}

// Elementwise on constants of equal shapes (or one scalar).
Const fold_binary(const onnx::NodeProto& node, const Const& a, const Const& b,
                  double (*f)(double, double)) {
  const bool a_scalar = a.numel() == 1, b_scalar = b.numel() == 1;
  if (a.dims != b.dims && !a_scalar && !b_scalar)
    node_fail(node, "constant broadcasting other than by a scalar is not supported");
  Const out;
  out.dims = a_scalar && !b_scalar ? b.dims : a.dims;
  out.integer = a.integer && b.integer;
  const std::int64_t n = std::max(a.numel(), b.numel());
  for (std::int64_t k = 0; k < n; ++k) {
    const double x = a.at(a_scalar ? 0 : k), y = b.at(b_scalar ? 0 : k);
    if (out.integer && (x == double(kBatch) || y == double(kBatch)))
      node_fail(node, "arithmetic on the dynamic batch dimension is not supported");
    const double r = f(x, y);
    if (out.integer)
      out.i.push_back(static_cast<std::int64_t>(r));
    else
      out.f.push_back(static_cast<float>(r));
  }
  return out;
}

void import_add(Context& cx, const onnx::NodeProto& node) {
  if (all_const(cx, node)) {
    cx.set_const(node.output(0), fold_binary(node, cx.constant(node, 0), cx.constant(node, 1),
                                             [](double x, double y) { return x + y; }));
    return;
  }
  const bool c0 = cx.is_const(node.input(0)), c1 = cx.is_const(node.input(1));
  if (c0 || c1) {  // MatMul + Add(bias): the bias of the Dense layer the MatMul became
    const std::string& sym = node.input(c0 ? 1 : 0);
    auto it = cx.pending_bias().find(sym);
    if (it == cx.pending_bias().end())
      node_fail(node, "adding a constant tensor is supported only as the bias after a MatMul");
    const nn::Value x = cx.value(node, c0 ? 1 : 0);
    const Const& b = cx.constant(node, c0 ? 0 : 1);
    if (b.numel() != x.shape()[0])
      node_fail(node, "bias of {} values for {} units", b.numel(), x.shape()[0]);
    cx.add_weight(it->second + ".bias", b, {x.shape()[0]});
    cx.pending_bias().erase(it);
    cx.set_value(node.output(0), x);
    return;
  }
  const nn::Value a = cx.value(node, 0), b = cx.value(node, 1);
  if (a.shape() != b.shape())
    node_fail(node, "broadcasting {} and {} is not supported (equal shapes only)", a.shape().str(),
              b.shape().str());
  cx.set_value(node.output(0), nn::Add{.name = cx.layer_name(node)}({a, b}));
}

void import_mul(Context& cx, const onnx::NodeProto& node) {
  if (all_const(cx, node)) {
    cx.set_const(node.output(0), fold_binary(node, cx.constant(node, 0), cx.constant(node, 1),
                                             [](double x, double y) { return x * y; }));
    return;
  }
  if (cx.is_const(node.input(0)) || cx.is_const(node.input(1)))
    node_fail(node, "multiplying by a constant tensor is not supported");
  nn::Value a = cx.value(node, 0), b = cx.value(node, 1);
  if (a.shape().numel() < b.shape().numel()) std::swap(a, b);  // the gate second
  cx.set_value(node.output(0), nn::Multiply{.name = cx.layer_name(node)}({a, b}));
}

template <int kOp>
void import_const_arith(Context& cx, const onnx::NodeProto& node) {
  if (!all_const(cx, node)) node_fail(node, "only supported on constants (shape arithmetic)");
  auto f = kOp == 0 ? +[](double x, double y) { return x - y; }
                    : +[](double x, double y) { return std::trunc(x / y); };
  Const r = fold_binary(node, cx.constant(node, 0), cx.constant(node, 1), f);
  if (kOp == 1 && !r.integer) {  // float division is not truncated
    const Const& a = cx.constant(node, 0);
    const Const& b = cx.constant(node, 1);
    for (std::size_t k = 0; k < r.f.size(); ++k)
      r.f[k] = float(a.at(a.numel() == 1 ? 0 : std::int64_t(k)) /
                     b.at(b.numel() == 1 ? 0 : std::int64_t(k)));
  }
  cx.set_const(node.output(0), std::move(r));
}

void import_concat(Context& cx, const onnx::NodeProto& node) {
  const std::int64_t axis = attr_int(node, "axis", 1);
  if (all_const(cx, node)) {
    Const out;
    out.integer = true;
    for (int k = 0; k < node.input_size(); ++k) {
      const Const& c = cx.constant(node, k);
      if (c.dims.size() > 1) node_fail(node, "constant concatenation of rank > 1 is not supported");
      out.integer = out.integer && c.integer;
    }
    for (int k = 0; k < node.input_size(); ++k) {
      const Const& c = cx.constant(node, k);
      for (std::int64_t e = 0; e < c.numel(); ++e) {
        if (out.integer)
          out.i.push_back(c.i[e]);
        else
          out.f.push_back(float(c.at(e)));
      }
    }
    out.dims = {std::int64_t(out.integer ? out.i.size() : out.f.size())};
    cx.set_const(node.output(0), std::move(out));
    return;
  }
  std::vector<nn::Value> xs;
  for (int k = 0; k < node.input_size(); ++k) xs.push_back(cx.value(node, k));
  const int rank = xs[0].shape().rank() + 1;
  if (axis != 1 && axis != 1 - rank)
    node_fail(node, "only concatenation over channels (axis 1) is supported, got axis {}", axis);
  cx.set_value(node.output(0), nn::Concat{.axis = 1, .name = cx.layer_name(node)}(xs));
}

void import_dropout(Context& cx, const onnx::NodeProto& node) {
  double rate = attr_float(node, "ratio", 0.5f);
  if (node.input_size() > 1 && cx.present(node.input(1))) rate = cx.constant(node, 1).at(0);
  if (node.input_size() > 2 && cx.present(node.input(2)) && cx.constant(node, 2).at(0) != 0)
    node_fail(node, "training_mode=true is not supported");
  if (node.output_size() > 1 && !node.output(1).empty()) {
    // The mask output is only reported as unsupported when something reads it (see importer).
  }
  cx.set_value(node.output(0),
               nn::Dropout{.rate = rate, .name = cx.layer_name(node)}(cx.value(node, 0)));
}

void import_softmax(Context& cx, const onnx::NodeProto& node) {
  const nn::Value x = cx.value(node, 0);
  const Shape s = x.shape();
  const int rank = s.rank() + 1;
  std::int64_t axis = attr_int(node, "axis", cx.opset() >= 13 ? -1 : 1);
  if (axis < 0) axis += rank;
  bool ok = axis == 1 && (cx.opset() >= 13 || s.numel() == s[0]);  // old: flattened from axis 1
  if (!ok && cx.opset() >= 13) ok = axis == 1 || (axis == rank - 1 && rank == 2);
  if (!ok)
    node_fail(
        node,
        "softmax over axis {} of a rank-{} tensor is not supported (only over the classes, axis 1)",
        axis, rank);
  cx.set_value(node.output(0), nn::Softmax{.name = cx.layer_name(node)}(x));
}

void import_global_avg_pool(Context& cx, const onnx::NodeProto& node) {
  const nn::Value x = cx.value(node, 0);
  image_shape(node, x);
  cx.set_value(node.output(0),
               nn::GlobalAvgPool2D{.keepdims = true, .name = cx.layer_name(node)}(x));
}

void import_reduce_mean(Context& cx, const onnx::NodeProto& node) {
  const nn::Value x = cx.value(node, 0);
  image_shape(node, x);
  auto axes = attr_ints(node, "axes");
  if (node.input_size() > 1 && cx.present(node.input(1))) axes = cx.constant(node, 1).ints();
  for (auto& a : axes)
    if (a < 0) a += 4;
  std::sort(axes.begin(), axes.end());
  if (axes != std::vector<std::int64_t>{2, 3})
    node_fail(node, "only the mean over H and W (axes [2, 3]) is supported, got [{}]",
              fmt::join(axes, ", "));
  cx.set_value(node.output(0), nn::GlobalAvgPool2D{.keepdims = attr_int(node, "keepdims", 1) != 0,
                                                   .name = cx.layer_name(node)}(x));
}

// ceil_mode: output = ceil((in + pads - k) / s) + 1, but a window must start inside the input
// or its begin padding (ONNX and PyTorch); the extra rows/columns are padding at the end.
nn::Pads ceil_pads(const onnx::NodeProto& node, const Shape& xs, nn::Pads p,
                   std::array<std::int64_t, 2> k, std::array<std::int64_t, 2> s) {
  if (attr_int(node, "ceil_mode", 0) == 0) return p;
  for (int a = 0; a < 2; ++a) {
    const std::int64_t in = xs[1 + a], begin = p[a], end = p[2 + a];
    const std::int64_t span = in + begin + end - k[a];
    std::int64_t out = (span + s[a] - 1) / s[a] + 1;
    if ((out - 1) * s[a] >= in + begin) --out;
    p[2 + a] += std::max<std::int64_t>(0, (out - 1) * s[a] + k[a] - (in + begin + end));
  }
  return p;
}

template <bool kMax>
void import_pool(Context& cx, const onnx::NodeProto& node) {
  const nn::Value x = cx.value(node, 0);
  const Shape xs = image_shape(node, x);
  if (node.output_size() > 1 && !node.output(1).empty())
    node_fail(node, "the Indices output is not supported");
  const auto kernel = pair_attr(node, "kernel_shape", 0);
  if (kernel[0] <= 0) node_fail(node, "kernel_shape is required");
  const auto stride = pair_attr(node, "strides", 1), dilation = pair_attr(node, "dilations", 1);
  if (dilation[0] != 1 || dilation[1] != 1) node_fail(node, "dilated pooling is not supported");
  if (attr_int(node, "storage_order", 0) != 0) node_fail(node, "storage_order=1 is not supported");
  const nn::Pads pads = pads_of(node, xs, kernel, stride, dilation);
  const nn::Pads padded = ceil_pads(node, xs, pads, kernel, stride);
  const std::string name = cx.layer_name(node);
  nn::Value y;
  if constexpr (kMax) {
    y = nn::MaxPool2D{.pool = {kernel[0], kernel[1]},
                      .stride = {stride[0], stride[1]},
                      .padding = nn::Padding::Explicit,
                      .pads = padded,
                      .name = name}(x);
  } else {
    const bool include = attr_int(node, "count_include_pad", 0) != 0;
    if (include && padded != pads)
      node_fail(node, "ceil_mode with count_include_pad=1 is not supported where it adds a window");
    y = nn::AvgPool2D{.pool = {kernel[0], kernel[1]},
                      .stride = {stride[0], stride[1]},
                      .padding = nn::Padding::Explicit,
                      .pads = padded,
                      .count_include_pad = include,
                      .name = name}(x);
  }
  cx.set_value(node.output(0), y);
}

// Reshape of a symbolic value to `target` (ONNX dims, batch first: kBatch, 0 or a number).
void reshape_value(Context& cx, const onnx::NodeProto& node, const nn::Value& x,
                   std::vector<std::int64_t> target) {
  if (target.empty()) node_fail(node, "reshape to a scalar is not supported");
  const Shape s = x.shape();
  std::vector<std::int64_t> sample(target.begin() + 1, target.end());
  for (std::size_t k = 0; k < sample.size(); ++k) {
    if (sample[k] == kBatch) node_fail(node, "the batch dimension can only stay first");
    if (sample[k] == 0 && attr_int(node, "allowzero", 0) == 0) {
      if (int(k) >= s.rank()) node_fail(node, "0 in the target copies a dimension the input lacks");
      sample[k] = s[int(k)];
    }
  }
  const std::string name = cx.layer_name(node);
  if (sample.size() == 1 && (sample[0] == -1 || sample[0] == s.numel()))
    cx.set_value(node.output(0), nn::Flatten{.name = name}(x));
  else
    cx.set_value(node.output(0), nn::Reshape{.shape = sample, .name = name}(x));
}

Const reshape_const(const onnx::NodeProto& node, Const c, std::vector<std::int64_t> target) {
  std::int64_t known = 1, infer = -1;
  for (std::size_t k = 0; k < target.size(); ++k) {
    if (target[k] == 0) target[k] = c.dims.at(k);
    if (target[k] == -1)
      infer = std::int64_t(k);
    else
      known *= target[k];
  }
  if (infer >= 0) target[infer] = known ? c.numel() / known : 0;
  c.dims = target;
  if (c.numel() != (c.integer ? std::int64_t(c.i.size()) : std::int64_t(c.f.size())))
    node_fail(node, "constant reshape changes the element count");
  return c;
}

void import_reshape(Context& cx, const onnx::NodeProto& node) {
  std::vector<std::int64_t> target =
      node.input_size() > 1 ? cx.constant(node, 1).ints() : attr_ints(node, "shape");
  if (cx.is_const(node.input(0))) {
    cx.set_const(node.output(0), reshape_const(node, cx.constant(node, 0), target));
    return;
  }
  reshape_value(cx, node, cx.value(node, 0), std::move(target));
}

void import_flatten(Context& cx, const onnx::NodeProto& node) {
  const std::int64_t axis = attr_int(node, "axis", 1);
  if (cx.is_const(node.input(0))) {
    const Const& c = cx.constant(node, 0);
    const std::int64_t a = axis < 0 ? axis + std::int64_t(c.dims.size()) : axis;
    std::int64_t outer = 1;
    for (std::int64_t k = 0; k < a; ++k) outer *= c.dims[k];
    cx.set_const(node.output(0), reshape_const(node, c, {outer, -1}));
    return;
  }
  if (axis != 1) node_fail(node, "only Flatten with axis 1 is supported, got {}", axis);
  cx.set_value(node.output(0), nn::Flatten{.name = cx.layer_name(node)}(cx.value(node, 0)));
}

void import_squeeze(Context& cx, const onnx::NodeProto& node) {
  auto axes = attr_ints(node, "axes");
  if (node.input_size() > 1 && cx.present(node.input(1))) axes = cx.constant(node, 1).ints();
  if (cx.is_const(node.input(0))) {
    Const c = cx.constant(node, 0);
    const std::int64_t rank = std::int64_t(c.dims.size());
    std::vector<std::int64_t> dims;
    for (std::int64_t k = 0; k < rank; ++k) {
      bool drop = axes.empty() ? c.dims[k] == 1 : false;
      for (auto a : axes) drop |= (a < 0 ? a + rank : a) == k;
      if (!drop) dims.push_back(c.dims[k]);
    }
    c.dims = dims;
    cx.set_const(node.output(0), std::move(c));
    return;
  }
  const nn::Value x = cx.value(node, 0);  // [N, C, 1, 1] -> [N, C]
  const Shape s = x.shape();
  for (auto& a : axes)
    if (a < 0) a += s.rank() + 1;
  std::sort(axes.begin(), axes.end());
  if (s.rank() != 3 || s[1] != 1 || s[2] != 1 ||
      (!axes.empty() && axes != std::vector<std::int64_t>{2, 3}))
    node_fail(node, "only squeezing [N, C, 1, 1] to [N, C] is supported");
  cx.set_value(node.output(0), nn::Flatten{.name = cx.layer_name(node)}(x));
}

void import_unsqueeze(Context& cx, const onnx::NodeProto& node) {
  auto axes = attr_ints(node, "axes");
  if (node.input_size() > 1 && cx.present(node.input(1))) axes = cx.constant(node, 1).ints();
  if (!cx.is_const(node.input(0)))
    node_fail(node, "only supported on constants (shape arithmetic)");
  Const c = cx.constant(node, 0);
  const std::int64_t rank = std::int64_t(c.dims.size() + axes.size());
  for (auto& a : axes)
    if (a < 0) a += rank;
  std::sort(axes.begin(), axes.end());
  for (auto a : axes)
    c.dims.insert(c.dims.begin() + std::min<std::int64_t>(a, std::int64_t(c.dims.size())), 1);
  cx.set_const(node.output(0), std::move(c));
}

void import_gather(Context& cx, const onnx::NodeProto& node) {
  if (!all_const(cx, node)) node_fail(node, "only supported on constants (shape arithmetic)");
  const Const& data = cx.constant(node, 0);
  const Const& idx = cx.constant(node, 1);
  if (data.dims.size() != 1 || attr_int(node, "axis", 0) != 0)
    node_fail(node, "only gathering from a 1-D constant is supported");
  Const out;
  out.integer = data.integer;
  out.dims = idx.dims;
  for (auto k : idx.ints()) {
    if (k < 0) k += data.numel();
    if (k < 0 || k >= data.numel()) node_fail(node, "index {} out of range", k);
    if (out.integer)
      out.i.push_back(data.i[k]);
    else
      out.f.push_back(data.f[k]);
  }
  cx.set_const(node.output(0), std::move(out));
}

void import_shape(Context& cx, const onnx::NodeProto& node) {
  std::vector<std::int64_t> dims;
  if (cx.is_const(node.input(0))) {
    dims = cx.constant(node, 0).dims;
  } else {
    dims.push_back(kBatch);
    const Shape sample = cx.value(node, 0).shape();  // by value: dims() refers into it
    dims.insert(dims.end(), sample.dims().begin(), sample.dims().end());
  }
  const std::int64_t rank = std::int64_t(dims.size());
  std::int64_t start = attr_int(node, "start", 0), end = attr_int(node, "end", rank);
  if (start < 0) start += rank;
  if (end < 0) end += rank;
  start = std::clamp<std::int64_t>(start, 0, rank);
  end = std::clamp<std::int64_t>(end, start, rank);
  Const out;
  out.integer = true;
  out.i.assign(dims.begin() + start, dims.begin() + end);
  out.dims = {end - start};
  cx.set_const(node.output(0), std::move(out));
}

void import_cast(Context& cx, const onnx::NodeProto& node) {
  const auto to = attr_int(node, "to", onnx::TensorProto::FLOAT);
  const bool to_float = to == onnx::TensorProto::FLOAT || to == onnx::TensorProto::FLOAT16 ||
                        to == onnx::TensorProto::DOUBLE;
  if (!cx.is_const(node.input(0))) {
    if (!to_float) node_fail(node, "casting activations to integers is not supported");
    cx.set_value(node.output(0), cx.value(node, 0));
    return;
  }
  Const c = cx.constant(node, 0);
  if (to_float && c.integer) {
    for (auto v : c.i) c.f.push_back(float(v));
    c.i.clear();
    c.integer = false;
  } else if (!to_float && !c.integer) {
    for (auto v : c.f) c.i.push_back(std::int64_t(v));
    c.f.clear();
    c.integer = true;
  }
  cx.set_const(node.output(0), std::move(c));
}

void import_identity(Context& cx, const onnx::NodeProto& node) {
  if (cx.is_const(node.input(0)))
    cx.set_const(node.output(0), cx.constant(node, 0));
  else
    cx.set_value(node.output(0), cx.value(node, 0));
}

void import_constant(Context& cx, const onnx::NodeProto& node) {
  Const c;
  if (const auto* a = attr(node, "value")) {
    c = onnx_file::read_tensor(a->t(), {});
  } else if (const auto* f = attr(node, "value_float")) {
    c.f = {f->f()};
  } else if (const auto* fs = attr(node, "value_floats")) {
    c.f.assign(fs->floats().begin(), fs->floats().end());
    c.dims = {std::int64_t(c.f.size())};
  } else if (const auto* i = attr(node, "value_int")) {
    c.integer = true;
    c.i = {i->i()};
  } else if (const auto* is = attr(node, "value_ints")) {
    c.integer = true;
    c.i.assign(is->ints().begin(), is->ints().end());
    c.dims = {std::int64_t(c.i.size())};
  } else {
    node_fail(node, "no value, value_float(s) or value_int(s) attribute");
  }
  cx.set_const(node.output(0), std::move(c));
}

// Gemm: Y = alpha A B' + beta C with A [N, K] symbolic and B constant -> Dense.
void import_gemm(Context& cx, const onnx::NodeProto& node) {
  if (attr_int(node, "transA", 0) != 0) node_fail(node, "transA=1 is not supported");
  const nn::Value x = cx.value(node, 0);
  if (x.shape().rank() != 1)
    node_fail(node, "needs an [N, K] input, got [N, {}]", fmt::join(x.shape().dims(), ", "));
  Const b = cx.constant(node, 1);
  if (b.dims.size() != 2) node_fail(node, "B must be 2-D");
  const bool trans_b = attr_int(node, "transB", 0) != 0;
  const std::int64_t k = x.shape()[0], units = trans_b ? b.dims[0] : b.dims[1];
  if ((trans_b ? b.dims[1] : b.dims[0]) != k) node_fail(node, "B does not take {} inputs", k);
  Const w;
  w.dims = {units, k};
  w.f.resize(std::size_t(units * k));
  const float alpha = attr_float(node, "alpha", 1.0f);
  for (std::int64_t u = 0; u < units; ++u)
    for (std::int64_t j = 0; j < k; ++j)
      w.f[u * k + j] = alpha * float(trans_b ? b.at(u * k + j) : b.at(j * units + u));
  const bool bias = node.input_size() > 2 && cx.present(node.input(2));
  const std::string name = cx.layer_name(node);
  nn::Value y = nn::Dense{.units = units, .use_bias = bias, .name = name}(x);
  cx.add_weight(name + ".weight", w, w.dims);
  if (bias) {
    const Const& c = cx.constant(node, 2);
    if (c.numel() != units)
      node_fail(node, "C must have {} values (one per unit), got {}", units, c.numel());
    const float beta = attr_float(node, "beta", 1.0f);
    Const scaled;
    scaled.dims = {units};
    for (std::int64_t u = 0; u < units; ++u) scaled.f.push_back(beta * float(c.at(u)));
    cx.add_weight(name + ".bias", scaled, {units});
  }
  cx.set_value(node.output(0), y);
}

// MatMul of [N, K] by a constant [K, U] -> Dense (its bias filled by a following Add).
void import_matmul(Context& cx, const onnx::NodeProto& node) {
  const nn::Value x = cx.value(node, 0);
  const Const& b = cx.constant(node, 1);
  if (x.shape().rank() != 1 || b.dims.size() != 2 || b.dims[0] != x.shape()[0])
    node_fail(node, "only [N, K] x constant [K, U] is supported");
  const std::int64_t k = b.dims[0], units = b.dims[1];
  Const w;
  w.dims = {units, k};
  w.f.resize(std::size_t(units * k));
  for (std::int64_t u = 0; u < units; ++u)
    for (std::int64_t j = 0; j < k; ++j) w.f[u * k + j] = float(b.at(j * units + u));
  const std::string name = cx.layer_name(node);
  nn::Value y = nn::Dense{.units = units, .use_bias = true, .name = name}(x);
  cx.add_weight(name + ".weight", w, w.dims);
  Const zero;
  zero.dims = {units};
  zero.f.assign(std::size_t(units), 0.0f);
  cx.add_weight(name + ".bias", zero, {units});
  cx.pending_bias()[node.output(0)] = name;
  cx.set_value(node.output(0), y);
}

void import_pad(Context& cx, const onnx::NodeProto& node) {
  const std::string mode = attr_string(node, "mode", "constant");
  if (mode != "constant") node_fail(node, "mode '{}' is not supported (constant only)", mode);
  std::vector<std::int64_t> p = attr_ints(node, "pads");
  if (node.input_size() > 1 && cx.present(node.input(1))) p = cx.constant(node, 1).ints();
  double value = attr_float(node, "value", 0.0f);
  if (node.input_size() > 2 && cx.present(node.input(2))) value = cx.constant(node, 2).at(0);
  if (node.input_size() > 3 && cx.present(node.input(3)))
    node_fail(node, "the axes input is not supported");
  if (p.size() != 8 || p[0] || p[1] || p[4] || p[5])
    node_fail(node, "only padding H and W of an [N, C, H, W] tensor is supported, got pads [{}]",
              fmt::join(p, ", "));
  for (auto v : p)
    if (v < 0) node_fail(node, "negative pads (cropping) are not supported");
  const nn::Pads pads{p[2], p[3], p[6], p[7]};
  if (value == 0 && cx.read_only_by_conv(node.output(0)) && !cx.is_const(node.input(0))) {
    cx.folded_pads()[node.output(0)] = {node.input(0), pads};
    return;
  }
  const nn::Value x = cx.value(node, 0);
  cx.set_value(node.output(0),
               nn::Pad{.pads = pads, .value = value, .name = cx.layer_name(node)}(x));
}

// Resize of [N, C, H, W] to constant sizes [N, C, h, w] (N from Shape) or scales [1, 1, sh, sw]
// giving whole sizes: linear with half_pixel (pytorch_half_pixel where h, w > 1) is convkit's
// bilinear, nearest with asymmetric and floor its nearest. Opset 11 on (10's linear differs).
void import_resize(Context& cx, const onnx::NodeProto& node) {
  const nn::Value x = cx.value(node, 0);
  const Shape xs = image_shape(node, x);
  if (cx.opset() < 11) node_fail(node, "only Resize of opset 11 or later is supported");
  if (attr_int(node, "antialias", 0) != 0) node_fail(node, "antialias=1 is not supported");
  std::int64_t h = 0, w = 0;
  if (node.input_size() > 3 && cx.present(node.input(3))) {
    const auto s = cx.constant(node, 3).ints();
    if (s.size() != 4) node_fail(node, "sizes must have 4 values, got {}", s.size());
    h = s[2], w = s[3];
  } else {
    const Const& sc = cx.constant(node, 2);
    if (sc.numel() != 4 || sc.at(0) != 1 || sc.at(1) != 1)
      node_fail(node, "only scales [1, 1, sh, sw] are supported");
    const double fh = xs[1] * sc.at(2), fw = xs[2] * sc.at(3);
    h = std::int64_t(std::llround(fh)), w = std::int64_t(std::llround(fw));
    if (std::abs(fh - double(h)) > 1e-4 || std::abs(fw - double(w)) > 1e-4)
      node_fail(node, "scales that give a fractional size ({} x {}) are not supported", fh, fw);
  }
  const std::string mode = attr_string(node, "mode", "nearest");
  const std::string ctm = attr_string(node, "coordinate_transformation_mode", "half_pixel");
  const bool bilinear =
      mode == "linear" && (ctm == "half_pixel" || (ctm == "pytorch_half_pixel" && h > 1 && w > 1));
  const bool nearest = mode == "nearest" && ctm == "asymmetric" &&
                       attr_string(node, "nearest_mode", "round_prefer_floor") == "floor";
  if (!bilinear && !nearest)
    node_fail(node,
              "mode '{}' with coordinate_transformation_mode '{}' is not supported (linear with "
              "half_pixel, or nearest with asymmetric and nearest_mode floor)",
              mode, ctm);
  cx.set_value(node.output(0), nn::Resize{.height = h,
                                          .width = w,
                                          .mode = bilinear ? "bilinear" : "nearest",
                                          .name = cx.layer_name(node)}(x));
}

void import_gelu(Context& cx, const onnx::NodeProto& node) {
  const std::string approximate = attr_string(node, "approximate", "none");
  if (approximate != "none" && approximate != "tanh")
    node_fail(node, "approximate '{}' is not none or tanh", approximate);
  cx.set_value(node.output(0), nn::GELU{.tanh_approximation = approximate == "tanh",
                                        .name = cx.layer_name(node)}(cx.value(node, 0)));
}

// clang-format off
const OpRow kOps[] = {
  {"Conv",               import_conv,            {"auto_pad", "dilations", "group", "kernel_shape", "pads", "strides"}},
  {"BatchNormalization", import_batch_norm,      {"epsilon", "momentum", "spatial", "training_mode", "is_test", "consumed_inputs"}},
  {"Relu",               import_simple<nn::ReLU>, {}},
  {"Sigmoid",            import_simple<nn::Sigmoid>, {}},
  {"Tanh",               import_simple<nn::Tanh>, {}},
  {"HardSwish",          import_simple<nn::HardSwish>, {}},
  {"HardSigmoid",        import_hard_sigmoid,    {"alpha", "beta"}},
  {"LeakyRelu",          import_leaky_relu,      {"alpha"}},
  {"Elu",                import_elu,             {"alpha"}},
  {"Clip",               import_clip,            {"min", "max"}},
  {"Add",                import_add,             {}},
  {"Sub",                import_const_arith<0>,  {}},
  {"Mul",                import_mul,             {}},
  {"Div",                import_const_arith<1>,  {}},
  {"Concat",             import_concat,          {"axis"}},
  {"Dropout",            import_dropout,         {"ratio", "seed", "is_test"}},
  {"Softmax",            import_softmax,         {"axis"}},
  {"GlobalAveragePool",  import_global_avg_pool, {}},
  {"ReduceMean",         import_reduce_mean,     {"axes", "keepdims", "noop_with_empty_axes"}},
  {"MaxPool",            import_pool<true>,      {"auto_pad", "ceil_mode", "dilations", "kernel_shape", "pads", "storage_order", "strides"}},
  {"AveragePool",        import_pool<false>,     {"auto_pad", "ceil_mode", "count_include_pad", "dilations", "kernel_shape", "pads", "strides"}},
  {"Flatten",            import_flatten,         {"axis"}},
  {"Reshape",            import_reshape,         {"allowzero", "shape"}},
  {"Squeeze",            import_squeeze,         {"axes"}},
  {"Unsqueeze",          import_unsqueeze,       {"axes"}},
  {"Gather",             import_gather,          {"axis"}},
  {"Shape",              import_shape,           {"start", "end"}},
  {"Cast",               import_cast,            {"to", "saturate"}},
  {"Identity",           import_identity,        {}},
  {"Constant",           import_constant,        {"value", "value_float", "value_floats", "value_int", "value_ints"}},
  {"Gemm",               import_gemm,            {"alpha", "beta", "transA", "transB"}},
  {"MatMul",             import_matmul,          {}},
  {"Pad",                import_pad,             {"mode", "pads", "value"}},
  {"Resize",             import_resize,          {"mode", "coordinate_transformation_mode", "nearest_mode", "antialias", "cubic_coeff_a", "exclude_outside", "extrapolation_value"}},
  {"Gelu",               import_gelu,            {"approximate"}},
};
// clang-format on

}  // namespace

std::span<const OpRow> op_table() {
  return kOps;
}

const OpRow* find_op(std::string_view op_type) {
  for (const auto& row : kOps)
    if (row.op_type == op_type) return &row;
  return nullptr;
}

}  // namespace convkit::io::onnx_import
