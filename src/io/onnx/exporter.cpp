// ONNX export: checks that every node of the model's graph has a row in the export table (all
// that do not, in one Error), then writes an inference graph: the inputs [N, C, H, W] (N the
// dim_param "N" when the batch is dynamic), one or a few ONNX nodes per convkit node in graph
// order (already topological), parameters as float32 raw-data initializers, and the outputs.
#include "io/onnx/exporter.h"

#include <convkit/io/onnx.h>

#include "nn/model_access.h"

#include <fmt/ranges.h>

#include <bit>

namespace convkit::io {

namespace onnx_export {

Writer::Writer(onnx::GraphProto& out, std::int64_t opset, const graph::Graph& graph,
               const graph::ParamStore& params)
    : out_(out), opset_(opset), graph_(graph), params_(params) {}

std::string Writer::fresh(const std::string& name) {
  std::string candidate = name.empty() ? "t" : name;
  for (int k = 1; used_.count(candidate); ++k) candidate = fmt::format("{}_{}", name, k);
  used_.insert(candidate);
  return candidate;
}

const std::string& Writer::name(graph::ValueId id) const {
  auto it = names_.find(id);
  if (it == names_.end())
    fail("export_onnx: value '{}' is read before any node wrote it", graph_.value(id).name);
  return it->second;
}

std::string Writer::out(const graph::Node& node) {
  const graph::ValueId id = node.outputs.at(0);
  if (!bound(id)) bind(id, fresh(graph_.value(id).name));
  return name(id);
}

onnx::NodeProto& Writer::node(std::string_view op_type, const std::string& name,
                              const std::vector<std::string>& inputs, const std::string& output) {
  onnx::NodeProto& n = *out_.add_node();
  n.set_op_type(std::string(op_type));
  n.set_name(name);
  for (const auto& i : inputs) n.add_input(i);
  n.add_output(output);
  return n;
}

std::string Writer::param(const graph::Node& node, int k) {
  const graph::ParamId id = node.params.at(std::size_t(k));
  const Tensor t = params_.value(id).clone();  // contiguous host copy
  const std::string name = fresh(graph_.params().at(std::size_t(id)).name);
  onnx_file::write_tensor(*out_.add_initializer(), name, t.shape().dims(), t.data<float>());
  return name;
}

std::string Writer::floats(const std::string& name, const std::vector<std::int64_t>& dims,
                           const std::vector<float>& values) {
  const std::string n = fresh(name);
  onnx_file::write_tensor(*out_.add_initializer(), n, dims, values.data());
  return n;
}

std::string Writer::ints(const std::string& name, const std::vector<std::int64_t>& dims,
                         const std::vector<std::int64_t>& values) {
  const std::string n = fresh(name);
  onnx_file::write_tensor(*out_.add_initializer(), n, dims, values);
  return n;
}

std::string Writer::scalar(float value) {
  const auto bits = std::bit_cast<std::uint32_t>(value);  // NaN and -0 are keys too
  auto it = scalars_.find(bits);
  if (it != scalars_.end()) return it->second;
  const std::string n = floats(fmt::format("const_{}", value), {}, {value});
  scalars_[bits] = n;
  return n;
}

void set_int(onnx::NodeProto& n, const std::string& name, std::int64_t v) {
  auto* a = n.add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::INT);
  a->set_i(v);
}

void set_float(onnx::NodeProto& n, const std::string& name, float v) {
  auto* a = n.add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::FLOAT);
  a->set_f(v);
}

void set_string(onnx::NodeProto& n, const std::string& name, const std::string& v) {
  auto* a = n.add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::STRING);
  a->set_s(v);
}

void set_ints(onnx::NodeProto& n, const std::string& name, std::span<const std::int64_t> v) {
  auto* a = n.add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::INTS);
  for (auto x : v) a->add_ints(x);
}

}  // namespace onnx_export

namespace {

using onnx_export::Writer;

// The IR version of the ONNX release that introduced `opset` (1.8: 13, ..., 1.15: 20).
std::int64_t ir_version_of(std::int64_t opset) {
  return opset <= 14 ? 7 : opset <= 18 ? 8 : 9;
}

void check_exportable(const graph::Graph& g, const std::string& path) {
  std::vector<std::string> problems;
  for (const auto& node : g.nodes())
    if (!onnx_export::find_export(node.op->type()))
      problems.push_back(fmt::format("'{}' ({})", node.name, node.op->type()));
  if (!problems.empty())
    fail("export_onnx '{}': {} layer{} cannot be exported to ONNX: {}", path, problems.size(),
         problems.size() == 1 ? "" : "s", fmt::join(problems, ", "));
  for (graph::ValueId id : g.inputs())
    if (g.value(id).spec.dtype != DType::f32)
      fail("export_onnx '{}': input '{}' is {}, only f32 inputs are exported", path,
           g.value(id).name, name_of(g.value(id).spec.dtype));
}

// A graph input or output's declaration: f32 [N or 1, per-sample dims...].
void declare(onnx::ValueInfoProto& v, const std::string& name, const Shape& graph_shape,
             bool dynamic_batch) {
  v.set_name(name);
  auto* tt = v.mutable_type()->mutable_tensor_type();
  tt->set_elem_type(onnx::TensorProto::FLOAT);
  for (int k = 0; k < graph_shape.rank(); ++k) {
    auto* d = tt->mutable_shape()->add_dim();
    if (k == 0 && dynamic_batch)
      d->set_dim_param("N");
    else
      d->set_dim_value(k == 0 ? 1 : graph_shape[k]);
  }
}

std::string numbered(const std::string& base, std::size_t k) {
  return k == 0 ? base : fmt::format("{}_{}", base, k);
}

}  // namespace

void export_onnx(const nn::Model& model, const std::string& path,
                 const OnnxExportOptions& options) {
  if (options.opset < 13 || options.opset > 20)
    fail("export_onnx '{}': opset {} is not supported (13 to 20)", path, options.opset);
  if (options.input_name.empty() || options.output_name.empty() ||
      options.input_name == options.output_name)
    fail(
        "export_onnx '{}': the input and output names must be two different non-empty names, "
        "got '{}' and '{}'",
        path, options.input_name, options.output_name);
  const graph::Graph& g = nn::ModelAccess::graph(model);
  check_exportable(g, path);

  onnx::ModelProto m;
  m.set_ir_version(ir_version_of(options.opset));
  m.set_producer_name("convkit");
  auto* opset = m.add_opset_import();
  opset->set_domain("");
  opset->set_version(options.opset);
  onnx::GraphProto& out = *m.mutable_graph();
  out.set_name("convkit");
  Writer w(out, options.opset, g, nn::ModelAccess::params(model));

  for (std::size_t k = 0; k < g.inputs().size(); ++k) {
    const graph::ValueId id = g.inputs()[k];
    w.bind(id, w.fresh(numbered(options.input_name, k)));
    declare(*out.add_input(), w.name(id), g.value(id).spec.shape, options.dynamic_batch);
  }
  // An output that is also an input (or listed twice) is copied by an Identity at the end.
  std::vector<std::pair<graph::ValueId, std::string>> copies;
  for (std::size_t k = 0; k < g.outputs().size(); ++k) {
    const graph::ValueId id = g.outputs()[k];
    const std::string name = w.fresh(numbered(options.output_name, k));
    declare(*out.add_output(), name, g.value(id).spec.shape, options.dynamic_batch);
    if (w.bound(id))
      copies.emplace_back(id, name);
    else
      w.bind(id, name);
  }

  for (const auto& node : g.nodes()) {
    try {
      onnx_export::find_export(node.op->type())->fn(w, node);
    } catch (const Error& e) {
      fail("export_onnx '{}': layer '{}' ({}): {}", path, node.name, node.op->type(), e.what());
    }
  }
  for (const auto& [id, name] : copies) w.node("Identity", name, {w.name(id)}, name);
  onnx_file::write_model(m, path);
}

}  // namespace convkit::io
