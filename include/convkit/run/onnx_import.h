// `convkit import`: an ONNX file as a convkit checkpoint (the model with the file's weights, its
// preprocessing and class names recorded), ready for predict, eval, summary, export or as a
// starting point for training.
#pragma once

#include <convkit/io/onnx.h>
#include <convkit/nn/model.h>

#include <filesystem>
#include <optional>
#include <string>

namespace convkit::run {

struct ImportRequest {
  std::string onnx;                // the file
  std::filesystem::path out;       // the checkpoint to write; empty: <file stem>.ckpt here
  std::string cut_at;              // "" the whole graph, "auto" before the classifier, a name
  std::optional<Shape> input;      // [C, H, W] where the file's is symbolic (or to override)
  bool bgr = false;                // the file's model takes BGR: the checkpoint takes RGB
  std::string normalize = "unit";  // a preset (centered, imagenet, raw, unit, symmetric)
  std::string labels;              // class names, one per line ("n01440764 tench" -> "tench")
};

struct ImportResult {
  nn::Model model;
  io::OnnxInfo info;
  std::filesystem::path checkpoint;
  std::vector<std::string> class_names;
};

// Throws DataError (a file that cannot be read) or ConfigError (a graph or request that cannot
// be mapped), each naming the file.
ImportResult import_onnx_checkpoint(const ImportRequest& request);

}  // namespace convkit::run
