// The ONNX importer's working state, shared by the graph walk (importer.cpp) and the op table
// (import_ops.cpp): every ONNX tensor name is either a symbolic convkit Value (per-sample
// shape: ONNX axis a is the Value's axis a - 1) or a constant (initializers, Constant nodes and
// folded shape arithmetic). The batch dimension of a Shape result is the marker kBatch.
#pragma once

#include "io/onnx/onnx_file.h"

#include <convkit/io/onnx.h>
#include <convkit/nn/value.h>

#include <fmt/format.h>

#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace convkit::io::onnx_import {

using onnx_file::Const;

// Stands for the (dynamic) batch size in folded shape arithmetic.
inline constexpr std::int64_t kBatch = -(std::int64_t(1) << 40);

class Context {
 public:
  Context(std::string name_prefix, std::int64_t opset)
      : prefix_(std::move(name_prefix)), opset_(opset) {}

  std::int64_t opset() const { return opset_; }
  // The graph input's name, and whether its channels are to be reversed (BGR -> RGB) in the
  // convolutions that read it.
  std::string input_name;
  bool flip_input_channels = false;
  bool is_const(const std::string& name) const;
  bool present(const std::string& name) const;  // an optional input given ("" is absent)
  const Const& constant(const onnx::NodeProto& node, int input) const;  // fails if symbolic
  nn::Value value(const onnx::NodeProto& node, int input) const;        // fails if constant
  void set_value(const std::string& name, const nn::Value& v);
  void set_const(const std::string& name, Const c);
  const nn::Value* find_value(const std::string& name) const;

  // The layer name for a node: the prefix plus its name (or its first output's), made unique.
  std::string layer_name(const onnx::NodeProto& node);
  // A weight for "<layer>.<param>".
  void add_weight(const std::string& param_name, const Const& c, std::vector<std::int64_t> dims);
  std::map<std::string, Tensor>& weights() { return weights_; }
  std::vector<std::string>& layers() { return layers_; }
  // The node whose output is `value` was created by the importer as a Dense layer with a bias
  // still to fill (MatMul followed by Add of a constant).
  std::map<std::string, std::string>& pending_bias() { return pending_bias_; }

  // Zero padding folded into the convolutions that read it: a Pad node whose every reader is a
  // Conv (and whose output is not the import's result) records its input and [top, left, bottom,
  // right] here instead of becoming a layer, and each Conv adds them to its own pads.
  struct FoldedPad {
    std::string input;
    nn::Pads pads;
  };
  std::map<std::string, std::vector<std::string>> readers;  // tensor -> op types reading it
  std::string result_name;
  bool read_only_by_conv(const std::string& name) const;
  std::map<std::string, FoldedPad>& folded_pads() { return folded_pads_; }

 private:
  std::string prefix_;
  std::int64_t opset_;
  std::map<std::string, nn::Value> values_;
  std::map<std::string, Const> consts_;
  std::map<std::string, Tensor> weights_;
  std::map<std::string, int> used_names_;
  std::vector<std::string> layers_;
  std::map<std::string, std::string> pending_bias_;
  std::map<std::string, FoldedPad> folded_pads_;
};

// Attribute access by ONNX name, with defaults.
const onnx::AttributeProto* attr(const onnx::NodeProto& node, std::string_view name);
std::int64_t attr_int(const onnx::NodeProto& node, std::string_view name, std::int64_t fallback);
float attr_float(const onnx::NodeProto& node, std::string_view name, float fallback);
std::string attr_string(const onnx::NodeProto& node, std::string_view name, std::string fallback);
std::vector<std::int64_t> attr_ints(const onnx::NodeProto& node, std::string_view name,
                                    std::vector<std::int64_t> fallback = {});

// "node 'conv1' (Conv): <message>" as an OnnxGraphError.
template <typename... Args>
[[noreturn]] void node_fail(const onnx::NodeProto& node, fmt::format_string<Args...> format,
                            Args&&... args) {
  throw OnnxGraphError(
      fmt::format("node '{}' ({}): {}", node.name().empty() ? node.output(0) : node.name(),
                  node.op_type(), fmt::format(format, std::forward<Args>(args)...)));
}

using ImportFn = void (*)(Context& cx, const onnx::NodeProto& node);

// One row per supported ONNX op: the function that maps it and the attributes it understands
// (any other attribute on a node is reported as unsupported).
struct OpRow {
  std::string_view op_type;
  ImportFn import;
  std::vector<std::string_view> attributes;
};
std::span<const OpRow> op_table();
const OpRow* find_op(std::string_view op_type);

}  // namespace convkit::io::onnx_import
