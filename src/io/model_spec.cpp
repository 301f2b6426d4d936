// Model spec JSON reading: text -> graph::Graph (format in model_spec.h; writing is in
// model_spec_writer.cpp). Every field is checked; errors read
// "<source>: <json path>: <what was expected>, found <what was there>".
#include "io/model_spec.h"

#include "ops/registry.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <limits>
#include <map>
#include <optional>
#include <set>

namespace convkit::io {

namespace {

// ordered_json, as the writer: attrs are handed to the op in the order the spec lists them.
using Json = nlohmann::ordered_json;

std::string key_path(const std::string& path, std::string_view key) {
  return path.empty() ? std::string(key) : fmt::format("{}.{}", path, key);
}
std::string index_path(const std::string& path, std::size_t i) {
  return fmt::format("{}[{}]", path, i);
}

std::string found(const Json& j) {
  std::string text = j.dump();
  if (text.size() > 48) text = text.substr(0, 45) + "...";
  return fmt::format("{} {}", j.type_name(), text);
}

std::optional<DType> dtype_from_name(std::string_view name) {
  for (DType t : {DType::f32, DType::bf16, DType::u8, DType::i32})
    if (name_of(t) == name) return t;
  return std::nullopt;
}

class Reader {
 public:
  explicit Reader(std::string_view source) : source_(source) {}

  [[noreturn]] void error(const std::string& path, std::string_view what) const {
    fail("{}: {}: {}", source_, path.empty() ? "(top level)" : path, what);
  }

  // Object at `path` with only the keys listed (required ones first, `n_required` of them).
  void expect_object(const Json& j, const std::string& path,
                     std::initializer_list<std::string_view> keys, std::size_t n_required) const {
    if (!j.is_object()) error(path, fmt::format("expected an object, found {}", found(j)));
    std::size_t k = 0;
    for (auto key : keys)
      if (k++ < n_required && !j.contains(key)) error(key_path(path, key), "missing");
    for (const auto& [key, value] : j.items()) {
      bool known = false;
      for (auto want : keys) known |= key == want;
      if (!known)
        error(key_path(path, key),
              fmt::format("unknown key (expected: {})", fmt::join(keys, ", ")));
    }
  }

  std::string string(const Json& j, const std::string& path, bool non_empty = true) const {
    if (!j.is_string()) error(path, fmt::format("expected a string, found {}", found(j)));
    if (non_empty && j.get_ref<const std::string&>().empty())
      error(path, "expected a non-empty string");
    return j.get<std::string>();
  }

  std::int64_t integer(const Json& j, const std::string& path) const {
    if (!j.is_number_integer()) error(path, fmt::format("expected an integer, found {}", found(j)));
    if (j.is_number_unsigned() &&
        j.get<std::uint64_t>() > std::uint64_t(std::numeric_limits<std::int64_t>::max()))
      error(path, fmt::format("integer {} is out of range", j.dump()));
    return j.get<std::int64_t>();
  }

  double number(const Json& j, const std::string& path) const {
    if (!j.is_number()) error(path, fmt::format("expected a number, found {}", found(j)));
    return j.get<double>();
  }

  bool boolean(const Json& j, const std::string& path) const {
    if (!j.is_boolean()) error(path, fmt::format("expected true or false, found {}", found(j)));
    return j.get<bool>();
  }

  const Json& array(const Json& j, const std::string& path) const {
    if (!j.is_array()) error(path, fmt::format("expected a list, found {}", found(j)));
    return j;
  }

  std::vector<std::int64_t> integers(const Json& j, const std::string& path) const {
    std::vector<std::int64_t> out;
    for (std::size_t i = 0; i < array(j, path).size(); ++i)
      out.push_back(integer(j[i], index_path(path, i)));
    return out;
  }

  ops::AttrValue attr(const Json& j, const std::string& path) const {
    if (j.is_boolean()) return j.get<bool>();
    if (j.is_number_integer()) return integer(j, path);
    if (j.is_number_float()) return j.get<double>();
    if (j.is_string()) return j.get<std::string>();
    if (j.is_array()) {
      bool all_ints = true;
      for (std::size_t i = 0; i < j.size(); ++i) {
        if (!j[i].is_number())
          error(index_path(path, i), fmt::format("expected a number, found {}", found(j[i])));
        all_ints &= j[i].is_number_integer();
      }
      if (all_ints)
        return integers(j, path);  // NOTE: [] reads as integers; get_floats accepts them
      std::vector<double> list;
      for (const auto& x : j) list.push_back(x.get<double>());
      return list;
    }
    error(path,
          fmt::format("expected a number, bool, string or list of numbers, found {}", found(j)));
  }

  Init init(const Json& j, const std::string& path) const {
    expect_object(j, path, {"kind", "a", "b"}, 1);
    Init out;
    const std::string kind = string(j["kind"], key_path(path, "kind"));
    try {
      out.kind = init_kind_from_name(kind);
    } catch (const Error& e) {
      error(key_path(path, "kind"), e.what());
    }
    if (out.kind == InitKind::Default)
      error(key_path(path, "kind"), "expected a resolved initializer, found \"default\"");
    if (j.contains("a")) out.a = static_cast<float>(number(j["a"], key_path(path, "a")));
    if (j.contains("b")) out.b = static_cast<float>(number(j["b"], key_path(path, "b")));
    return out;
  }

 private:
  std::string_view source_;
};

struct RecordedParam {
  Shape shape;
  Init init;
  std::size_t index = 0;  // position in "params"
};

// Points an op construction error at the attribute it quotes ("attribute 'filters' must ...").
std::string attr_error_path(const std::string& attrs_path, const ops::Attrs& attrs,
                            std::string_view message) {
  for (const auto& [key, value] : attrs.items())
    if (message.find(fmt::format("'{}'", key)) != std::string_view::npos)
      return key_path(attrs_path, key);
  return attrs_path;
}

}  // namespace

std::shared_ptr<graph::Graph> graph_from_json(std::string_view json, std::string_view source) {
  Json spec;
  try {
    spec = Json::parse(json.begin(), json.end());
  } catch (const Json::parse_error& e) {
    fail("{}: not valid JSON (at byte {}): {}", source, e.byte, e.what());
  } catch (const Json::exception& e) {
    fail("{}: not valid JSON: {}", source, e.what());
  }
  const Reader r(source);
  r.expect_object(spec, "", {"format", "version", "inputs", "nodes", "outputs", "params"}, 5);
  if (r.string(spec["format"], "format") != kModelSpecFormat)
    r.error("format",
            fmt::format("expected \"{}\", found {}", kModelSpecFormat, found(spec["format"])));
  if (const auto version = r.integer(spec["version"], "version"); version != kModelSpecVersion)
    r.error("version",
            fmt::format("this build reads version {}, found {}", kModelSpecVersion, version));

  auto graph = std::make_shared<graph::Graph>();
  std::map<std::string, graph::ValueId, std::less<>> values;  // value name -> id
  auto define = [&](const std::string& name, graph::ValueId id, const std::string& path) {
    if (!values.emplace(name, id).second)
      r.error(path, fmt::format("value name '{}' is already defined", name));
  };
  auto lookup = [&](const Json& j, const std::string& path) {
    const std::string name = r.string(j, path);
    auto it = values.find(name);
    if (it == values.end())
      r.error(path,
              fmt::format("unknown value '{}' (not an input and not the output of an earlier node)",
                          name));
    return it->second;
  };

  const Json& inputs = r.array(spec["inputs"], "inputs");
  if (inputs.empty()) r.error("inputs", "expected at least one input");
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    const std::string p = index_path("inputs", i);
    r.expect_object(inputs[i], p, {"name", "shape", "dtype"}, 3);
    const std::string name = r.string(inputs[i]["name"], key_path(p, "name"));
    const auto dims = r.integers(inputs[i]["shape"], key_path(p, "shape"));
    const std::string dtype_name = r.string(inputs[i]["dtype"], key_path(p, "dtype"));
    const auto dtype = dtype_from_name(dtype_name);
    if (!dtype)
      r.error(key_path(p, "dtype"),
              fmt::format("expected f32, bf16, u8 or i32, found \"{}\"", dtype_name));
    graph::ValueId id = -1;
    try {
      id = graph->add_input(name, Shape(dims), *dtype);
    } catch (const Error& e) {
      r.error(key_path(p, "shape"), e.what());
    }
    define(name, id, key_path(p, "name"));
  }

  // Recorded parameters, by name (used for init overrides now and the final check).
  std::map<std::string, RecordedParam, std::less<>> recorded;
  const bool has_params = spec.contains("params");
  if (has_params) {
    const Json& params = r.array(spec["params"], "params");
    for (std::size_t k = 0; k < params.size(); ++k) {
      const std::string p = index_path("params", k);
      r.expect_object(params[k], p, {"name", "shape", "init"}, 3);
      const std::string name = r.string(params[k]["name"], key_path(p, "name"));
      RecordedParam rec{Shape(r.integers(params[k]["shape"], key_path(p, "shape"))),
                        r.init(params[k]["init"], key_path(p, "init")), k};
      if (!recorded.emplace(name, rec).second)
        r.error(key_path(p, "name"), fmt::format("parameter '{}' is listed twice", name));
    }
  }

  const Json& nodes = r.array(spec["nodes"], "nodes");
  for (std::size_t i = 0; i < nodes.size(); ++i) {
    const std::string p = index_path("nodes", i);
    const Json& n = nodes[i];
    r.expect_object(
        n, p, {"name", "op", "inputs", "attrs", "trainable", "regularizer", "lr_multiplier"}, 3);
    const std::string name = r.string(n["name"], key_path(p, "name"));
    const std::string type = r.string(n["op"], key_path(p, "op"));
    ops::Attrs attrs;
    const std::string attrs_path = key_path(p, "attrs");
    if (n.contains("attrs")) {
      if (!n["attrs"].is_object())
        r.error(attrs_path, fmt::format("expected an object, found {}", found(n["attrs"])));
      for (const auto& [key, value] : n["attrs"].items())
        attrs.set(key, r.attr(value, key_path(attrs_path, key)));
    }
    std::vector<graph::ValueId> ins;
    const Json& in_names = r.array(n["inputs"], key_path(p, "inputs"));
    for (std::size_t k = 0; k < in_names.size(); ++k)
      ins.push_back(lookup(in_names[k], index_path(key_path(p, "inputs"), k)));
    const bool trainable =
        n.contains("trainable") ? r.boolean(n["trainable"], key_path(p, "trainable")) : true;

    bool known_type = false;
    for (const auto& entry : ops::registered_ops()) known_type |= entry.type == type;
    if (!known_type) {
      std::vector<std::string_view> types;
      for (const auto& entry : ops::registered_ops()) types.push_back(entry.type);
      r.error(key_path(p, "op"),
              fmt::format("unknown op type \"{}\" (known: {})", type, fmt::join(types, ", ")));
    }
    std::shared_ptr<const ops::Op> op;
    try {
      op = ops::make_op(type, attrs);
    } catch (const Error& e) {
      r.error(attr_error_path(attrs_path, attrs, e.what()), e.what());
    }
    // An attribute the op does not report back was ignored by it: a typo or a setting that
    // does not apply (e.g. "pads" without padding "explicit"). Refuse rather than guess.
    const ops::Attrs used = op->attrs();
    for (const auto& [key, value] : attrs.items())
      if (!used.has(key)) {
        std::vector<std::string> keys;
        for (const auto& item : used.items()) keys.push_back(item.first);
        r.error(key_path(attrs_path, key),
                fmt::format("{} does not use this attribute here (it uses: {})", type,
                            keys.empty() ? "none" : fmt::format("{}", fmt::join(keys, ", "))));
      }

    std::vector<graph::InitOverride> inits;
    if (has_params) {
      std::vector<ops::TensorSpec> in_specs;
      for (graph::ValueId v : ins) in_specs.push_back(graph->value(v).spec);
      std::vector<ops::ParamSpec> specs;
      try {
        specs = op->params(in_specs);
      } catch (const Error&) {
        // add_node below runs the shape rule first and reports the real problem.
      }
      for (const auto& ps : specs)
        if (auto it = recorded.find(name + "." + ps.name); it != recorded.end())
          inits.push_back({ps.name, it->second.init});
    }
    std::vector<graph::ValueId> outs;
    try {
      outs = graph->add_node(name, op, ins, trainable, inits);
    } catch (const ShapeError& e) {
      throw ShapeError(fmt::format("{}: {}: {}", source, p, e.what()));
    } catch (const Error& e) {
      r.error(p, e.what());
    }
    for (graph::ValueId v : outs) define(graph->value(v).name, v, key_path(p, "name"));
    if (n.contains("regularizer")) {
      const std::string rp = key_path(p, "regularizer");
      const Json& reg = n["regularizer"];
      r.expect_object(reg, rp, {"l1", "l2"}, 2);
      try {
        graph->set_regularizer(graph->value(outs.at(0)).producer,
                               r.number(reg["l1"], key_path(rp, "l1")),
                               r.number(reg["l2"], key_path(rp, "l2")));
      } catch (const Error& e) {
        r.error(rp, e.what());
      }
    }
    if (n.contains("lr_multiplier")) {
      const std::string lp = key_path(p, "lr_multiplier");
      try {
        graph->set_lr_multiplier(graph->value(outs.at(0)).producer,
                                 r.number(n["lr_multiplier"], lp));
      } catch (const Error& e) {
        r.error(lp, e.what());
      }
    }
  }

  const Json& outputs = r.array(spec["outputs"], "outputs");
  if (outputs.empty()) r.error("outputs", "expected at least one output");
  std::vector<graph::ValueId> outs;
  for (std::size_t i = 0; i < outputs.size(); ++i)
    outs.push_back(lookup(outputs[i], index_path("outputs", i)));
  graph->set_outputs(outs);

  if (has_params) {
    for (const auto& p : graph->params()) {
      auto it = recorded.find(p.name);
      if (it == recorded.end())
        r.error("params",
                fmt::format("the rebuilt graph has parameter '{}' {} that the spec does not list",
                            p.name, p.spec.shape.str()));
      if (it->second.shape != p.spec.shape)
        r.error(key_path(index_path("params", it->second.index), "shape"),
                fmt::format("recorded {} but layer '{}' ({}) now makes {}", it->second.shape.str(),
                            graph->node(p.node).name, graph->node(p.node).op->type(),
                            p.spec.shape.str()));
    }
    for (const auto& entry : recorded) {  // (not a structured binding: clang 14 cannot capture one)
      const std::string& name = entry.first;
      if (std::none_of(graph->params().begin(), graph->params().end(),
                       [&](const auto& q) { return q.name == name; }))
        r.error(key_path(index_path("params", entry.second.index), "name"),
                fmt::format("no parameter '{}' in the rebuilt graph", name));
    }
  }
  return graph;
}

}  // namespace convkit::io
