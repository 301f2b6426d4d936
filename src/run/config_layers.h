// Layers from YAML: `- {type: conv2d, filters: 32, kernel: 3, activation: relu}`. One parser
// per layer type in one table (config_layers.cpp); unknown types and keys are errors naming
// the path, e.g. "model.layers[2].filterz".
#pragma once

#include <convkit/nn/model.h>

#include <yaml-cpp/yaml.h>

#include <string>
#include <vector>

namespace convkit::run {

std::vector<nn::Layer> parse_layers(const YAML::Node& layers, const std::string& path);
std::vector<std::string> layer_type_names();

}  // namespace convkit::run
