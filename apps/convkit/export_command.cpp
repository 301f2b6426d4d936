// `convkit export CHECKPOINT|RUN_DIR MODEL.onnx`: the model's inference graph as an ONNX file
// (io::export_onnx) that onnxruntime and other runtimes run; prints the input convention the
// model was trained with, which the ONNX file does not carry.
#include "commands.h"

#include <convkit/io/onnx.h>
#include <convkit/run/run_dir.h>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <memory>

namespace convkit::app {

CommandRunner add_export_command(CLI::App& app) {
  auto source = std::make_shared<std::string>();
  auto target = std::make_shared<std::string>();
  auto options = std::make_shared<io::OnnxExportOptions>();
  auto* cmd = app.add_subcommand("export", "Write a checkpoint's model as an ONNX file");
  cmd->add_option("checkpoint", *source, "checkpoint file (.ckpt) or run directory")
      ->required()
      ->check(CLI::ExistingPath);
  cmd->add_option("output", *target, "the .onnx file to write")->required();
  cmd->add_option("--opset", options->opset, "ONNX opset (13 to 20)");
  return [source, target, options] {
    const run::OpenedCheckpoint opened = run::open_checkpoint(*source);
    try {
      io::export_onnx(opened.checkpoint.model, *target, *options);
    } catch (const Error& e) {
      throw ConfigError(fmt::format("export {}: {}", opened.path.string(), e.what()));
    }
    const auto& pre = opened.info.preprocess;
    fmt::print("wrote {} (opset {}, input {} per sample, {} classes)\n", *target, options->opset,
               opened.checkpoint.model.input_shape().str(), opened.info.class_names.size());
    fmt::print("input convention: x = (pixel / 255 - mean) / std, mean [{}], std [{}], RGB\n",
               fmt::join(pre.mean, ", "), fmt::join(pre.std, ", "));
    return 0;
  };
}

}  // namespace convkit::app
