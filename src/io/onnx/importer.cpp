// ONNX import: reads the file, finds the nodes the wanted output needs (up to cut_at), checks
// every one against the op table (all unsupported ops and attributes in one error), then walks
// them in file order (ONNX requires topological order), mapping each through its op-table
// function into convkit layers or folded constants.
#include "io/onnx/importer.h"

#include <convkit/io/onnx.h>

#include <fmt/ranges.h>

#include <algorithm>
#include <filesystem>
#include <set>
#include <unordered_map>

namespace convkit::io {

namespace onnx_import {

bool Context::is_const(const std::string& name) const {
  return consts_.count(name) > 0;
}

bool Context::present(const std::string& name) const {
  return !name.empty();
}

const Const& Context::constant(const onnx::NodeProto& node, int input) const {
  if (input >= node.input_size() || node.input(input).empty())
    node_fail(node, "input {} is missing", input);
  auto it = consts_.find(node.input(input));
  if (it == consts_.end())
    node_fail(node,
              "input {} ('{}') must be a constant (an initializer or folded shape "
              "arithmetic); it is computed from the image",
              input, node.input(input));
  return it->second;
}

nn::Value Context::value(const onnx::NodeProto& node, int input) const {
  if (input >= node.input_size() || node.input(input).empty())
    node_fail(node, "input {} is missing", input);
  auto it = values_.find(node.input(input));
  if (it == values_.end()) {
    if (consts_.count(node.input(input)))
      node_fail(node, "input {} ('{}') is a constant where this op needs the image's data", input,
                node.input(input));
    node_fail(node, "input '{}' is produced by no node", node.input(input));
  }
  return it->second;
}

void Context::set_value(const std::string& name, const nn::Value& v) {
  values_[name] = v;
}

void Context::set_const(const std::string& name, Const c) {
  consts_[name] = std::move(c);
}

bool Context::read_only_by_conv(const std::string& name) const {
  if (name == result_name) return false;
  auto it = readers.find(name);
  if (it == readers.end() || it->second.empty()) return false;
  return std::all_of(it->second.begin(), it->second.end(),
                     [](const std::string& op) { return op == "Conv"; });
}

const nn::Value* Context::find_value(const std::string& name) const {
  auto it = values_.find(name);
  return it == values_.end() ? nullptr : &it->second;
}

std::string Context::layer_name(const onnx::NodeProto& node) {
  std::string base = prefix_ + (node.name().empty() ? node.output(0) : node.name());
  std::replace(base.begin(), base.end(), ':', '_');  // ':' separates a node's outputs
  if (base.empty()) base = prefix_ + node.op_type();
  std::string name = base;
  for (int k = used_names_[base]; used_names_.count(name) && used_names_[name] > 0;)
    name = fmt::format("{}_{}", base, ++k);
  used_names_[base]++;
  used_names_[name]++;
  layers_.push_back(name);
  return name;
}

void Context::add_weight(const std::string& param_name, const Const& c,
                         std::vector<std::int64_t> dims) {
  Tensor t = Tensor::empty(Shape(dims));
  if (t.numel() != c.numel())
    throw OnnxGraphError(
        fmt::format("weight '{}': {} values for shape {}", param_name, c.numel(), t.shape().str()));
  float* p = t.data<float>();
  for (std::int64_t k = 0; k < c.numel(); ++k) p[k] = static_cast<float>(c.at(k));
  weights_[param_name] = t;
}

const onnx::AttributeProto* attr(const onnx::NodeProto& node, std::string_view name) {
  for (const auto& a : node.attribute())
    if (a.name() == name) return &a;
  return nullptr;
}

std::int64_t attr_int(const onnx::NodeProto& node, std::string_view name, std::int64_t fallback) {
  const auto* a = attr(node, name);
  return a ? a->i() : fallback;
}

float attr_float(const onnx::NodeProto& node, std::string_view name, float fallback) {
  const auto* a = attr(node, name);
  return a ? a->f() : fallback;
}

std::string attr_string(const onnx::NodeProto& node, std::string_view name, std::string fallback) {
  const auto* a = attr(node, name);
  return a ? a->s() : fallback;
}

std::vector<std::int64_t> attr_ints(const onnx::NodeProto& node, std::string_view name,
                                    std::vector<std::int64_t> fallback) {
  const auto* a = attr(node, name);
  if (!a) return fallback;
  return {a->ints().begin(), a->ints().end()};
}

}  // namespace onnx_import

namespace {

using namespace onnx_import;
namespace fs = std::filesystem;

bool default_domain(const std::string& d) {
  return d.empty() || d == "ai.onnx";
}

std::string node_label(const onnx::NodeProto& n) {
  return n.name().empty() ? (n.output_size() ? n.output(0) : n.op_type()) : n.name();
}

// The per-sample input shape: the file's [N, C, H, W] without N, or options.input_shape.
Shape input_shape_of(const std::string& path, const onnx::ValueInfoProto& in,
                     const OnnxImportOptions& options) {
  std::vector<std::int64_t> dims;
  std::vector<std::string> words;
  const auto& shape = in.type().tensor_type().shape();
  for (int k = 0; k < shape.dim_size(); ++k) {
    const auto& d = shape.dim(k);
    const std::int64_t v = d.has_dim_value() ? d.dim_value() : -1;
    if (k > 0) dims.push_back(v);
    words.push_back(v > 0 ? std::to_string(v) : d.dim_param().empty() ? "?" : d.dim_param());
  }
  if (options.input_shape) {
    const Shape& s = *options.input_shape;
    if (s.rank() != int(dims.size()))
      throw OnnxGraphError(
          fmt::format("'{}': input '{}' is [{}]; the input shape {} asked for has another rank",
                      path, in.name(), fmt::join(words, ", "), s.str()));
    if (!dims.empty() && dims[0] > 0 && s[0] != dims[0])
      throw OnnxGraphError(fmt::format("'{}': input '{}' takes {} channels ([{}]), not {} ({})",
                                       path, in.name(), dims[0], fmt::join(words, ", "), s[0],
                                       s.str()));
    return s;
  }
  for (auto v : dims)
    if (v <= 0)
      throw OnnxGraphError(
          fmt::format("'{}': input '{}' has a symbolic size [{}]: give the input shape [C, H, W]",
                      path, in.name(), fmt::join(words, ", ")));
  if (dims.empty())
    throw OnnxGraphError(
        fmt::format("'{}': input '{}' has no shape: give the input shape", path, in.name()));
  return Shape(dims);
}

}  // namespace

OnnxInfo read_onnx_info(const std::string& path) {
  const onnx::ModelProto model = onnx_file::read_model(path);
  const onnx::GraphProto& g = model.graph();
  OnnxInfo info;
  info.ir_version = model.ir_version();
  info.producer = model.producer_name() +
                  (model.producer_version().empty() ? "" : " " + model.producer_version());
  info.graph_name = g.name();
  info.nodes = g.node_size();
  for (const auto& o : model.opset_import())
    if (default_domain(o.domain())) info.opset = o.version();
  std::set<std::string> initializers;
  for (const auto& t : g.initializer()) initializers.insert(t.name());
  for (const auto& in : g.input()) {
    if (initializers.count(in.name())) continue;
    info.input_name = in.name();
    std::vector<std::int64_t> dims;
    const auto& shape = in.type().tensor_type().shape();
    bool known = shape.dim_size() > 1;
    for (int k = 1; k < shape.dim_size(); ++k) {
      known = known && shape.dim(k).has_dim_value() && shape.dim(k).dim_value() > 0;
      dims.push_back(shape.dim(k).dim_value());
    }
    if (known) info.input_shape = Shape(dims);
    break;
  }
  for (const auto& o : g.output()) info.output_names.push_back(o.name());
  return info;
}

OnnxGraph import_onnx_graph(const std::string& path, const OnnxImportOptions& options) {
  const onnx::ModelProto model = onnx_file::read_model(path);
  const onnx::GraphProto& g = model.graph();
  const fs::path dir = fs::path(path).parent_path();

  OnnxGraph out;
  out.info.ir_version = model.ir_version();
  out.info.producer = model.producer_name() +
                      (model.producer_version().empty() ? "" : " " + model.producer_version());
  out.info.graph_name = g.name();
  out.info.nodes = g.node_size();
  for (const auto& o : model.opset_import())
    if (default_domain(o.domain())) out.info.opset = o.version();
  if (out.info.opset == 0) out.info.opset = 1;
  if (out.info.opset < 7 || out.info.opset > 20)
    throw OnnxGraphError(
        fmt::format("'{}': opset {} is not supported (7 to 20)", path, out.info.opset));

  std::unordered_map<std::string, const onnx::TensorProto*> initializers;
  for (const auto& t : g.initializer()) initializers[t.name()] = &t;
  std::vector<const onnx::ValueInfoProto*> inputs;
  for (const auto& in : g.input())
    if (!initializers.count(in.name())) inputs.push_back(&in);
  if (inputs.size() != 1)
    throw OnnxGraphError(
        fmt::format("'{}': the graph has {} inputs; convkit imports models with "
                    "one image input",
                    path, inputs.size()));
  const onnx::ValueInfoProto& input = *inputs[0];
  const auto elem = input.type().tensor_type().elem_type();
  if (elem != onnx::TensorProto::FLOAT && elem != onnx::TensorProto::FLOAT16 &&
      elem != onnx::TensorProto::DOUBLE)
    throw OnnxGraphError(
        fmt::format("'{}': input '{}' is not a floating-point tensor", path, input.name()));

  // Who produces each tensor.
  std::unordered_map<std::string, int> producer;
  for (int n = 0; n < g.node_size(); ++n)
    for (const auto& o : g.node(n).output())
      if (!o.empty()) producer[o] = n;

  // The tensor the import ends at.
  std::string target;
  if (options.cut_at.empty()) {
    if (g.output_size() != 1)
      throw OnnxGraphError(fmt::format("'{}': the graph has {} outputs; say which one with cut_at",
                                       path, g.output_size()));
    target = g.output(0).name();
  } else if (options.cut_at == "auto") {
    for (const auto& n : g.node())
      if ((n.op_type() == "Gemm" || n.op_type() == "MatMul") && default_domain(n.domain()))
        target = n.input(0);
    if (target.empty())
      throw OnnxGraphError(fmt::format(
          "'{}': cut_at auto looks for the classifier (the last Gemm or MatMul) and finds none: "
          "name the node or tensor to cut at",
          path));
  } else {
    for (const auto& n : g.node())
      if (n.name() == options.cut_at && n.output_size() > 0) target = n.output(0);
    if (target.empty() && (producer.count(options.cut_at) || options.cut_at == input.name()))
      target = options.cut_at;
    if (target.empty()) {
      std::vector<std::string> some;
      for (int n = std::max(0, g.node_size() - 6); n < g.node_size(); ++n)
        some.push_back("'" + node_label(g.node(n)) + "'");
      throw OnnxGraphError(fmt::format(
          "'{}': cut_at '{}' names no node and no tensor of the graph ({} nodes; the last are {}; "
          "`convkit import {}` lists them all)",
          path, options.cut_at, g.node_size(), fmt::join(some, ", "), path));
    }
  }

  if (options.logits)
    if (auto it = producer.find(target);
        it != producer.end() && g.node(it->second).op_type() == "Softmax")
      target = g.node(it->second).input(0);

  // The nodes the target needs.
  std::vector<char> needed(std::size_t(g.node_size()), 0);
  std::vector<std::string> stack{target};
  std::set<std::string> seen;
  while (!stack.empty()) {
    const std::string t = stack.back();
    stack.pop_back();
    if (!seen.insert(t).second) continue;
    auto it = producer.find(t);
    if (it == producer.end()) continue;
    if (needed[std::size_t(it->second)]) continue;
    needed[std::size_t(it->second)] = 1;
    for (const auto& i : g.node(it->second).input())
      if (!i.empty()) stack.push_back(i);
  }

  // Every unsupported op and attribute, in one error.
  std::vector<std::string> problems;
  for (int n = 0; n < g.node_size(); ++n) {
    if (!needed[std::size_t(n)]) continue;
    const auto& node = g.node(n);
    const std::string who = fmt::format("node '{}' ({})", node_label(node), node.op_type());
    const OpRow* row = default_domain(node.domain()) ? find_op(node.op_type()) : nullptr;
    if (!row) {
      problems.push_back(who + ": unsupported op" +
                         (default_domain(node.domain()) ? "" : " (domain " + node.domain() + ")"));
      continue;
    }
    for (const auto& a : node.attribute())
      if (std::find(row->attributes.begin(), row->attributes.end(), a.name()) ==
          row->attributes.end())
        problems.push_back(fmt::format("{}: unsupported attribute '{}'", who, a.name()));
  }
  if (!problems.empty())
    throw OnnxGraphError(fmt::format("'{}': cannot import {} node{}: {}", path, problems.size(),
                                     problems.size() == 1 ? "" : "s", fmt::join(problems, "; ")));

  Context cx(options.name_prefix, out.info.opset);
  cx.input_name = input.name();
  cx.flip_input_channels = options.bgr_to_rgb;
  cx.result_name = target;
  for (int n = 0; n < g.node_size(); ++n)
    if (needed[std::size_t(n)])
      for (const auto& i : g.node(n).input()) cx.readers[i].push_back(g.node(n).op_type());
  if (options.bgr_to_rgb)
    for (int n = 0; n < g.node_size(); ++n)
      if (needed[std::size_t(n)] && g.node(n).op_type() != "Conv")
        for (const auto& i : g.node(n).input())
          if (i == input.name())
            throw OnnxGraphError(fmt::format(
                "'{}': BGR -> RGB reverses the channels of the convolutions that read the input, "
                "but node '{}' ({}) reads it too",
                path, node_label(g.node(n)), g.node(n).op_type()));
  for (int n = 0; n < g.node_size(); ++n) {
    if (!needed[std::size_t(n)]) continue;
    for (const auto& i : g.node(n).input()) {
      auto it = initializers.find(i);
      if (it != initializers.end() && !cx.is_const(i))
        cx.set_const(i, onnx_file::read_tensor(*it->second, dir));
    }
  }
  out.info.input_name = input.name();
  out.info.input_shape = input_shape_of(path, input, options);
  out.input = nn::Input(out.info.input_shape, input.name());
  cx.set_value(input.name(), out.input);

  for (int n = 0; n < g.node_size(); ++n) {
    if (!needed[std::size_t(n)]) continue;
    const auto& node = g.node(n);
    try {
      find_op(node.op_type())->import(cx, node);
    } catch (const OnnxGraphError&) {
      throw;
    } catch (const OnnxFileError&) {
      throw;
    } catch (const Error& e) {  // a layer's own check (shapes): name the node
      throw OnnxGraphError(
          fmt::format("node '{}' ({}): {}", node_label(node), node.op_type(), e.what()));
    }
    ++out.info.mapped;
  }
  const nn::Value* result = cx.find_value(target);
  if (!result)
    throw OnnxGraphError(
        fmt::format("'{}': '{}' is a constant, not computed from the input", path, target));
  out.output = *result;
  out.info.output_names = {target};
  out.weights = std::move(cx.weights());
  out.layers = std::move(cx.layers());
  return out;
}

void OnnxGraph::load_weights(const nn::Model& model) const {
  for (const auto& [name, value] : weights) {
    Tensor p = model.parameter(name);
    if (p.shape() != value.shape())
      fail("imported weight '{}' is {}, the model's parameter is {}", name, value.shape().str(),
           p.shape().str());
    p.copy_from(value);
  }
}

nn::Model import_onnx(const std::string& path, const OnnxImportOptions& options) {
  OnnxGraph g = import_onnx_graph(path, options);
  nn::Model model(g.input, g.output);
  model.initialize(0);
  g.load_weights(model);
  return model;
}

}  // namespace convkit::io
