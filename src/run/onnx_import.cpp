// `convkit import` as a library call: ONNX file -> checkpoint with a RunInfo (see onnx_import.h).
#include <convkit/run/onnx_import.h>

#include "run/config_backbone.h"

#include <convkit/io/checkpoint.h>
#include <convkit/run/errors.h>
#include <convkit/run/run_dir.h>

#include <fmt/format.h>

#include <fstream>

namespace convkit::run {

namespace fs = std::filesystem;

namespace {

// One class name per line; an ImageNet synset line "n01440764 tench, Tinca tinca" gives "tench".
std::vector<std::string> read_labels(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw DataError(fmt::format("--labels {}: cannot read", path));
  std::vector<std::string> names;
  std::string line;
  while (std::getline(in, line)) {
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
    if (line.empty()) continue;
    if (line.size() > 10 && line[0] == 'n' && line[9] == ' ' &&
        line.find_first_not_of("0123456789", 1) == 9)
      line = line.substr(10);
    if (auto comma = line.find(','); comma != std::string::npos) line.resize(comma);
    names.push_back(line);
  }
  return names;
}

}  // namespace

ImportResult import_onnx_checkpoint(const ImportRequest& r) {
  train::Preprocess pre = normalize_preset(r.normalize, "--normalize");
  io::OnnxGraph g;
  try {
    g = io::import_onnx_graph(
        r.onnx, {.cut_at = r.cut_at, .bgr_to_rgb = r.bgr, .logits = true, .input_shape = r.input});
  } catch (const io::OnnxFileError& e) {
    throw DataError(e.what());
  } catch (const io::OnnxGraphError& e) {
    throw ConfigError(e.what());
  }
  ImportResult result{.model = nn::Model(g.input, g.output), .info = g.info};
  result.model.initialize(0);
  g.load_weights(result.model);
  const Shape out_shape = result.model.output_shape(0);
  const std::int64_t outputs = out_shape.numel();
  if (!r.labels.empty()) {
    result.class_names = read_labels(r.labels);
    if (std::int64_t(result.class_names.size()) != outputs)
      throw ConfigError(fmt::format("--labels {}: {} names for a model with {} outputs {}",
                                    r.labels, result.class_names.size(), outputs, out_shape.str()));
  } else {
    for (std::int64_t k = 0; k < outputs; ++k) result.class_names.push_back(std::to_string(k));
  }
  result.checkpoint = r.out.empty() ? fs::path(fs::path(r.onnx).stem().string() + ".ckpt") : r.out;
  RunInfo info{.dataset = "onnx:" + fs::absolute(r.onnx).lexically_normal().string(),
               .preprocess = pre,
               .class_names = result.class_names};
  try {
    io::save_checkpoint(result.checkpoint, result.model,
                        io::CheckpointContents{.extra_json = run_info_to_json(info)});
  } catch (const Error& e) {
    throw DataError(
        fmt::format("{}: cannot write the checkpoint ({})", result.checkpoint.string(), e.what()));
  }
  return result;
}

}  // namespace convkit::run
