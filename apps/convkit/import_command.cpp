// `convkit import MODEL.onnx`: maps an ONNX model into convkit layers, prints what the file is
// and the layer table, and writes a checkpoint (run::import_onnx_checkpoint).
#include "commands.h"

#include <convkit/run/onnx_import.h>

#include <fmt/format.h>

#include <memory>

namespace convkit::app {

CommandRunner add_import_command(CLI::App& app) {
  auto r = std::make_shared<run::ImportRequest>();
  auto input = std::make_shared<std::vector<std::int64_t>>();
  auto out = std::make_shared<std::string>();
  auto quiet = std::make_shared<bool>(false);
  auto* cmd = app.add_subcommand(
      "import", "Read an ONNX model into convkit layers and write it as a checkpoint");
  cmd->add_option("model", r->onnx, "the .onnx file")->required();
  cmd->add_option("-o,--out", *out, "checkpoint to write (default: <model name>.ckpt)");
  cmd->add_option(
      "--cut-at", r->cut_at,
      "end at this node or tensor ('auto': before the classifier; default: the output)");
  cmd->add_option("--input", *input, "per-sample input size C H W (where the file's is symbolic)")
      ->expected(3);
  cmd->add_flag("--bgr", r->bgr, "the model takes BGR images (the checkpoint will take RGB)");
  cmd->add_option("--normalize", r->normalize,
                  "the model's input convention: centered ((x-127)/128), imagenet, raw (0..255), "
                  "unit (0..1, default), symmetric (-1..1)");
  cmd->add_option("--labels", r->labels, "class names, one per line (ImageNet synset.txt works)");
  cmd->add_flag("-q,--quiet", *quiet, "no layer table");
  return [r, input, out, quiet] {
    if (!input->empty()) r->input = Shape(*input);
    r->out = *out;
    const run::ImportResult result = run::import_onnx_checkpoint(*r);
    const auto& i = result.info;
    fmt::print("{}: ONNX IR {}, opset {}, {}{} nodes, {} mapped; input '{}' {}\n", r->onnx,
               i.ir_version, i.opset, i.producer.empty() ? "" : "from " + i.producer + ", ",
               i.nodes, i.mapped, i.input_name, i.input_shape.str());
    if (!*quiet) fmt::print("{}", result.model.summary());
    fmt::print("wrote {} ({} classes; preprocessing: {}{})\n", result.checkpoint.string(),
               result.class_names.size(), r->normalize,
               r->bgr ? ", BGR weights flipped to RGB" : "");
    return 0;
  };
}

}  // namespace convkit::app
