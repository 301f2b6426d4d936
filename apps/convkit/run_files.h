// Files of a run directory and the checkpoint "extra" record that lets eval/predict reproduce
// the training-time input pipeline (dataset, normalization, class names, resolved config).
#pragma once

#include <convkit/train/trainer.h>

#include <filesystem>
#include <string>
#include <vector>

namespace convkit::app {

// Writes `text` to `path` atomically (temp file in the same directory, fsync, rename).
void write_text_atomic(const std::filesystem::path& path, const std::string& text);

struct RunInfo {
  std::string dataset;
  train::Preprocess preprocess;
  std::vector<std::string> class_names;
  std::string config_yaml;
};

std::string run_info_to_json(const RunInfo& info);
RunInfo run_info_from_json(const std::string& json, const std::string& source);

}  // namespace convkit::app
