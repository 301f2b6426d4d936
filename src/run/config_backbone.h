// model.backbone (internal to run/): the keys of a pretrained ONNX base and its preprocessing:
//   backbone: {onnx: FILE, cut_at: auto | NODE_OR_TENSOR, freeze: true, channels: rgb | bgr,
//              normalize: centered | imagenet | raw | unit | dataset | {mean: [...], std: [...]}}
// Relative paths are found from the working directory, then from the config file's folder; the
// resolved config records the absolute path.
#pragma once

#include "run/yaml_section.h"

#include <convkit/io/onnx.h>
#include <convkit/run/config.h>

#include <string>

namespace convkit::run {

BackboneConfig parse_backbone(YamlSection& backbone, const std::string& config_source);

// The normalization presets' names and values (x = (pixel / 255 - mean) / std).
train::Preprocess normalize_preset(const std::string& name, const std::string& key);

// Runs f, turning ONNX problems into the run's errors: a file that cannot be read is a DataError
// (exit 3) naming model.backbone.onnx, a graph that cannot be mapped a ConfigError (exit 2).
template <typename F>
auto as_onnx_error(F&& f) -> decltype(f()) {
  try {
    return f();
  } catch (const io::OnnxFileError& e) {
    throw DataError(fmt::format("'model.backbone.onnx': {}", e.what()));
  } catch (const io::OnnxGraphError& e) {
    throw ConfigError(fmt::format("'model.backbone': {}", e.what()));
  }
}

}  // namespace convkit::run
