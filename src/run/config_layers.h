// Layers from YAML: `- {type: conv2d, filters: 32, kernel: 3, activation: relu}`. Each layer
// type is one row of the layer schema (nn/layer_schema.h); unknown types and keys are errors
// naming the path, e.g. "model.layers[2].filterz". A zoo model (nn/zoo.h) instead of the layers.
#pragma once

#include <convkit/nn/model.h>
#include <convkit/nn/zoo.h>

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <string>
#include <vector>

namespace convkit::run {

class YamlSection;

std::vector<nn::Layer> parse_layers(const YAML::Node& layers, const std::string& path);
std::vector<std::string> layer_type_names();

// `model: {zoo: resnet20, input: [3, 32, 32], classes: 10, stem: ..., classifier: ...,
// zero_init_residual: ...}`: the zoo model's options (nn/zoo.h), read from the model section and
// checked; a bad option is a ConfigError naming its key ("model.stem").
nn::ZooOptions parse_zoo_model(YamlSection& model, const std::vector<std::int64_t>& input);
// The config key of a ZooOptions field ("num_classes" -> "model.classes").
std::string zoo_option_key(const std::string& option);

}  // namespace convkit::run
