// Reading and writing ONNX files through the protobuf classes generated from Debian's onnx.proto,
// and constants (initializers, Constant nodes, folded shape arithmetic) as plain host arrays:
// f32 (float, double and float16 widened) or i64 (every integer type and bool).
#pragma once

#include "onnx.pb.h"

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace convkit::io::onnx_file {

// A constant tensor: dims as ONNX has them (batch included where there is one).
struct Const {
  std::vector<std::int64_t> dims;
  bool integer = false;
  std::vector<float> f;         // !integer
  std::vector<std::int64_t> i;  // integer
  std::int64_t numel() const;
  double at(std::int64_t k) const { return integer ? double(i[k]) : double(f[k]); }
  std::vector<std::int64_t> ints() const;  // every element as an integer
};

// Parses `path`; throws OnnxFileError naming the file (missing, unreadable, truncated or not
// an ONNX model, no graph).
onnx::ModelProto read_model(const std::string& path);
// Writes `model` to `path` atomically (a temporary file, then rename).
void write_model(const onnx::ModelProto& model, const std::string& path);

// The constant a TensorProto holds; external data is read relative to `dir`. Throws
// OnnxFileError naming the tensor for unsupported types or missing data.
Const read_tensor(const onnx::TensorProto& t, const std::filesystem::path& dir);
// A float32 TensorProto of `dims` from `data` (raw little-endian bytes).
void write_tensor(onnx::TensorProto& t, const std::string& name,
                  const std::vector<std::int64_t>& dims, const float* data);
void write_tensor(onnx::TensorProto& t, const std::string& name,
                  const std::vector<std::int64_t>& dims, const std::vector<std::int64_t>& data);

float half_to_float(std::uint16_t h);

}  // namespace convkit::io::onnx_file
