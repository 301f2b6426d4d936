// Layers from YAML: the layer schema (nn/layer_schema.h) reads each layer's keys through
// YamlLayerReader, a LayerReader over a strict YamlSection. Type names, keys and defaults live
// in the schema's table; this file only knows YAML. Also the keys of a zoo model (nn/zoo.h).
#include "run/config_layers.h"

#include "run/yaml_section.h"

#include <convkit/nn/layer_schema.h>
#include <convkit/nn/zoo.h>

#include <fmt/ranges.h>

#include <utility>

namespace convkit::run {

namespace {

class YamlLayerReader final : public nn::LayerReader {
 public:
  explicit YamlLayerReader(YamlSection& s) : s_(s) {}
  bool has(const std::string& key) const override { return s_.has(key); }
  std::int64_t get_int(const std::string& key, std::int64_t fallback) override {
    return s_.get<std::int64_t>(key, fallback);
  }
  std::int64_t required_int(const std::string& key) override {
    return s_.required<std::int64_t>(key);
  }
  double get_float(const std::string& key, double fallback) override {
    return s_.get<double>(key, fallback);
  }
  bool get_bool(const std::string& key, bool fallback) override {
    return s_.get<bool>(key, fallback);
  }
  std::string get_string(const std::string& key, const std::string& fallback) override {
    return s_.get<std::string>(key, fallback);
  }
  std::vector<std::int64_t> get_ints(const std::string& key,
                                     const std::vector<std::int64_t>& fallback) override {
    return s_.get<std::vector<std::int64_t>>(key, fallback);
  }
  std::vector<std::int64_t> required_ints(const std::string& key) override {
    return s_.required<std::vector<std::int64_t>>(key);
  }
  std::optional<std::string> scalar(const std::string& key) override {
    YAML::Node n = s_.raw(key);
    if (n && n.IsScalar()) return n.Scalar();
    return std::nullopt;
  }
  std::vector<nn::Layer> layers(const std::string& key) override {
    return parse_layers(s_.raw(key), s_.path_of(key));
  }
  std::string path_of(const std::string& key) const override { return s_.path_of(key); }
  [[noreturn]] void error(const std::string& message) const override { config_fail("{}", message); }

 private:
  YamlSection& s_;
};

}  // namespace

std::vector<std::string> layer_type_names() {
  return nn::layer_type_names();
}

std::vector<nn::Layer> parse_layers(const YAML::Node& layers, const std::string& path) {
  if (!layers || !layers.IsSequence() || layers.size() == 0)
    config_fail("'{}' must be a non-empty list of layers like {{type: conv2d, filters: 32}}", path);
  std::vector<nn::Layer> out;
  for (std::size_t i = 0; i < layers.size(); ++i) {
    YamlSection s(layers[i], fmt::format("{}[{}]", path, i));
    const auto type = s.required<std::string>("type");
    const nn::LayerSchema* schema = nn::find_layer_schema(type);
    if (!schema)
      config_fail("'{}': unknown layer type '{}' (known: {})", s.path_of("type"), type,
                  fmt::join(layer_type_names(), ", "));
    YamlLayerReader reader(s);
    out.push_back(schema->read(reader));
    s.finish();
  }
  return out;
}

std::string zoo_option_key(const std::string& option) {
  if (option == "name") return "model.zoo";
  if (option == "num_classes") return "model.classes";
  return "model." + option;
}

nn::ZooOptions parse_zoo_model(YamlSection& model, const std::vector<std::int64_t>& input) {
  nn::ZooOptions o;
  o.name = model.required<std::string>("zoo");
  if (input.size() != 3)
    config_fail("'model.input' must be [channels, height, width] for a zoo model, got {} numbers",
                input.size());
  o.input = {input[0], input[1], input[2]};
  // NOTE: required, as a layer model's last `units` is: the config is read (and `convkit summary`
  // builds the model) without the data, and check_against_data compares it with the data's.
  o.num_classes = model.required<std::int64_t>("classes");
  o.stem = model.get<std::string>("stem", "");
  o.classifier = model.get<std::string>("classifier", "");
  o.zero_init_residual = model.get<bool>("zero_init_residual", false);
  try {
    nn::check_zoo_options(o);
  } catch (const nn::ZooOptionError& e) {
    config_fail("'{}': {}", zoo_option_key(e.option()), e.what());
  }
  return o;
}

}  // namespace convkit::run
