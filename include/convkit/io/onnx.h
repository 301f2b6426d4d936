// ONNX import into a trainable model, and export. An imported graph becomes ordinary convkit
// layers (Conv2D, BatchNorm, ReLU6, Add, ...) carrying the file's weights, so it trains, freezes,
// saves and exports like any other model:
//   auto model = io::import_onnx("efficientnet_lite0.onnx");            // the whole network
//   auto base = io::import_onnx_graph("efficientnet_lite0.onnx", {.cut_at = "global_pool"});
//   auto y = nn::Dense{.units = 10, .name = "head"}(base.output);       // a new head
//   nn::Model m(base.input, y); m.initialize(42); base.load_weights(m);
//   m.set_trainable(base.layers, false) per name, or a glob such as "blocks.*"
#pragma once

#include <convkit/nn/model.h>
#include <convkit/tensor/tensor.h>
#include <convkit/util/error.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace convkit::io {

// A file convkit cannot read as ONNX (missing, truncated, not a model, external data missing).
struct OnnxFileError : Error {
  using Error::Error;
};
// A readable model convkit cannot map (unsupported ops or attributes, each listed with its node
// name and op type; a cut_at that names nothing; an input size the graph cannot take).
struct OnnxGraphError : Error {
  using Error::Error;
};

struct OnnxImportOptions {
  // Where the imported part ends: a node name or a tensor (value) name; "auto": the input of
  // the last Gemm/MatMul (the features before the classifier, Keras' include_top=False). Empty:
  // the graph's output. Nodes after it are not mapped (their ops need not be supported).
  std::string cut_at;
  // The file's model takes BGR images: reverse the input channels of the convolutions reading
  // the input, so the imported model takes RGB like every convkit dataset.
  bool bgr_to_rgb = false;
  // A graph that ends in Softmax ends before it: the model outputs logits, as convkit's
  // classifiers do (losses and predictors apply the softmax).
  bool logits = false;
  // The per-sample input shape [C, H, W]; required where the file's is symbolic, and it
  // overrides the file's (models whose parameters do not depend on H and W take any size).
  std::optional<Shape> input_shape;
  // Prefix for the layer names ("" keeps the file's node names).
  std::string name_prefix;
};

// What the file says of itself.
struct OnnxInfo {
  std::int64_t ir_version = 0;
  std::int64_t opset = 0;  // of the default (ai.onnx) domain
  std::string producer;
  std::string graph_name;
  std::string input_name;
  Shape input_shape;  // per sample, as imported
  std::vector<std::string> output_names;
  std::int64_t nodes = 0;   // in the file
  std::int64_t mapped = 0;  // nodes that became layers or were folded (up to cut_at)
};

// An imported graph: symbolic input and output Values (apply more layers to `output`), and the
// weights by convkit parameter name ("<layer>.weight", "<layer>.running_mean", ...).
struct OnnxGraph {
  nn::Value input;
  nn::Value output;
  std::map<std::string, Tensor> weights;
  OnnxInfo info;
  std::vector<std::string> layers;  // the layer names the import created, in graph order
  // Copies the weights into a model built on input/output (after model.initialize(), which
  // would overwrite them). Throws Error when a parameter is missing or has another shape.
  void load_weights(const nn::Model& model) const;
};

// What the file says of itself (input_shape empty where the file's is symbolic), without
// mapping any node. Throws OnnxFileError.
OnnxInfo read_onnx_info(const std::string& path);

OnnxGraph import_onnx_graph(const std::string& path, const OnnxImportOptions& options = {});
// The whole graph (or up to cut_at) as a model with the file's weights.
nn::Model import_onnx(const std::string& path, const OnnxImportOptions& options = {});

// ONNX export of a model's inference graph (dropout omitted, BatchNorm with its running
// statistics, fused activations as nodes of their own), parameters as float32 initializers,
// written atomically. opset 13 to 20. The batch dimension is the dim_param "N" when
// dynamic_batch, else 1. Throws Error listing every layer (name and op type) that has no ONNX
// form, before writing anything.
struct OnnxExportOptions {
  std::int64_t opset = 17;
  bool dynamic_batch = true;
  std::string input_name = "input";
  std::string output_name = "output";
};
void export_onnx(const nn::Model& model, const std::string& path,
                 const OnnxExportOptions& options = {});

}  // namespace convkit::io
