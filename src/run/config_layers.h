// Layers from YAML: `- {type: conv2d, filters: 32, kernel: 3, activation: relu}`. Each layer
// type is one row of the layer schema (nn/layer_schema.h); unknown types and keys are errors
// naming the path, e.g. "model.layers[2].filterz".
#pragma once

#include <convkit/nn/model.h>

#include <yaml-cpp/yaml.h>

#include <string>
#include <vector>

namespace convkit::run {

std::vector<nn::Layer> parse_layers(const YAML::Node& layers, const std::string& path);
std::vector<std::string> layer_type_names();

}  // namespace convkit::run
