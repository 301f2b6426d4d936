// The layer schema: one table (src/nn/layer_schema.cpp) whose row gives a layer type its config
// name ("conv2d"), the reader of its keys (filling its option struct, with defaults), the op it
// adds to the graph (its model-spec "op") and its ONNX op (a slot for the ONNX table, a later
// issue). Adding a layer = its op files, its option struct, one row, its tests.
//
// The schema reads keys through LayerReader, which a config format implements (the YAML one is
// in run/config_layers.cpp), so nn knows key names and defaults but no parser. A reader is
// strict: it remembers the keys read and rejects others, and its errors name the key's path
// ("model.layers[3].filters").
#pragma once

#include <convkit/nn/layers.h>
#include <convkit/nn/model.h>

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace convkit::nn {

class LayerReader {
 public:
  virtual ~LayerReader() = default;
  virtual bool has(const std::string& key) const = 0;
  // Typed reads: a missing key gives `fallback` (and is still a known key); a value of the wrong
  // type is an error naming the key. required_*: a missing key is an error too.
  virtual std::int64_t get_int(const std::string& key, std::int64_t fallback) = 0;
  virtual std::int64_t required_int(const std::string& key) = 0;
  virtual double get_float(const std::string& key, double fallback) = 0;
  virtual bool get_bool(const std::string& key, bool fallback) = 0;
  virtual std::string get_string(const std::string& key, const std::string& fallback) = 0;
  // One integer reads as a list of one.
  virtual std::vector<std::int64_t> get_ints(const std::string& key,
                                             const std::vector<std::int64_t>& fallback) = 0;
  virtual std::vector<std::int64_t> required_ints(const std::string& key) = 0;
  // The key's text when its value is a single scalar (a word or a number), else nullopt.
  virtual std::optional<std::string> scalar(const std::string& key) = 0;
  // A nested list of layers (a residual block's body), read with the same schema.
  virtual std::vector<Layer> layers(const std::string& key) = 0;
  virtual std::string path_of(const std::string& key) const = 0;
  // A mistake in the config (the message names the path); never returns.
  [[noreturn]] virtual void error(const std::string& message) const = 0;
};

struct LayerSchema {
  std::string_view type;  // config name: `{type: conv2d, ...}`
  Layer (*read)(LayerReader& reader);
  std::string_view op;    // the op it adds (model-spec "op"; "" for composite blocks)
  std::string_view onnx;  // the ONNX op type it maps to ("" where none or composite)
};

std::span<const LayerSchema> layer_schemas();
const LayerSchema* find_layer_schema(std::string_view type);
std::vector<std::string> layer_type_names();

// Reads `activation: relu` through the activation table (a missing key gives `fallback`); an
// unknown name is an error naming the key and listing the names.
Activation read_activation(LayerReader& reader, const std::string& key = "activation",
                           Activation fallback = Activation::None);

}  // namespace convkit::nn
