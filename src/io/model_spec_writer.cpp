// Model spec JSON writing: graph::Graph -> text (format in model_spec.h). Reading lives in
// model_spec.cpp.
#include "io/model_spec.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <set>

namespace convkit::io {

namespace {

// NOTE: ordered_json keeps keys in insertion order, so a written spec reads top to bottom in
// the order of the format description and each op's attrs() order.
using Json = nlohmann::ordered_json;

double finite(double x, std::string_view node, std::string_view key) {
  if (!std::isfinite(x))
    fail("graph_to_json: layer '{}' attribute '{}' is {}, which JSON cannot hold", node, key, x);
  return x;
}

Json attr_to_json(const ops::AttrValue& value, std::string_view node, std::string_view key) {
  return std::visit(
      [&](const auto& x) -> Json {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, double>) {
          return finite(x, node, key);
        } else if constexpr (std::is_same_v<T, std::vector<double>>) {
          Json list = Json::array();
          for (double d : x) list.push_back(finite(d, node, key));
          return list;
        } else {
          return Json(x);
        }
      },
      value);
}

std::vector<std::int64_t> per_sample(const Shape& shape) {
  return {shape.dims().begin() + 1, shape.dims().end()};
}

std::string graph_to_json_unchecked(const graph::Graph& graph) {
  std::set<std::string> names;
  for (const auto& v : graph.values())
    if (!names.insert(v.name).second)
      fail("graph_to_json: value name '{}' is used twice (an input and a layer share it)", v.name);

  Json inputs = Json::array();
  for (graph::ValueId id : graph.inputs()) {
    const auto& v = graph.value(id);
    inputs.push_back({{"name", v.name},
                      {"shape", per_sample(v.spec.shape)},
                      {"dtype", std::string(name_of(v.spec.dtype))}});
  }
  Json nodes = Json::array();
  for (const auto& node : graph.nodes()) {
    Json attrs = Json::object();
    const ops::Attrs op_attrs = node.op->attrs();
    for (const auto& [key, value] : op_attrs.items())
      attrs[key] = attr_to_json(value, node.name, key);
    Json in = Json::array();
    for (graph::ValueId id : node.inputs) in.push_back(graph.value(id).name);
    Json entry{{"name", node.name},
               {"op", std::string(node.op->type())},
               {"attrs", std::move(attrs)},
               {"inputs", std::move(in)},
               {"trainable", node.trainable}};
    if (node.l1 != 0 || node.l2 != 0) entry["regularizer"] = {{"l1", node.l1}, {"l2", node.l2}};
    if (node.lr_multiplier != 1) entry["lr_multiplier"] = node.lr_multiplier;
    nodes.push_back(std::move(entry));
  }
  Json outputs = Json::array();
  for (graph::ValueId id : graph.outputs()) outputs.push_back(graph.value(id).name);
  Json params = Json::array();
  for (const auto& p : graph.params())
    params.push_back({{"name", p.name},
                      {"shape", p.spec.shape.dims()},
                      {"init",
                       {{"kind", std::string(name_of(p.init.kind))},
                        {"a", double(p.init.a)},
                        {"b", double(p.init.b)}}}});

  Json spec = {{"format", std::string(kModelSpecFormat)},
               {"version", kModelSpecVersion},
               {"inputs", std::move(inputs)},
               {"nodes", std::move(nodes)},
               {"outputs", std::move(outputs)},
               {"params", std::move(params)}};
  // One line per input, node and parameter: readable and diffable without nlohmann's
  // one-number-per-line indentation.
  std::string out = "{\n";
  std::size_t k = 0;
  for (const auto& [key, value] : spec.items()) {
    out += fmt::format("  {}: ", Json(key).dump());
    if (value.is_array() && !value.empty()) {
      out += "[\n";
      for (std::size_t i = 0; i < value.size(); ++i)
        out += fmt::format("    {}{}\n", value[i].dump(), i + 1 < value.size() ? "," : "");
      out += "  ]";
    } else {
      out += value.dump();
    }
    out += ++k < spec.size() ? ",\n" : "\n";
  }
  return out + "}\n";
}
}  // namespace

std::string graph_to_json(const graph::Graph& graph) {
  try {
    return graph_to_json_unchecked(graph);
  } catch (const Json::exception& e) {  // e.g. a layer name that is not valid UTF-8
    fail("graph_to_json: {}", e.what());
  }
}

}  // namespace convkit::io
