// Helpers of the ONNX tests: the shared ImageNet models ($CONVKIT_TEST_MODELS, else
// ../shared/models from the repository root; tests skip when absent), their fish input, and
// small ONNX graphs built in memory through the generated protobuf classes.
#pragma once

#include "io/onnx/onnx_file.h"

#include <convkit/tensor/tensor.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace convkit::test {

inline std::filesystem::path shared_models() {
  const char* env = std::getenv("CONVKIT_TEST_MODELS");
  return env && *env ? std::filesystem::path(env) : std::filesystem::path("../shared/models");
}

// Comma- or newline-separated numbers ("Index,Value" files: the second column).
inline std::vector<float> read_numbers(const std::filesystem::path& path, bool second_column) {
  std::ifstream in(path);
  std::vector<float> out;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || (!std::isdigit(static_cast<unsigned char>(line[0])) && line[0] != '-'))
      continue;
    std::stringstream ss(line);
    std::string cell;
    if (second_column) {
      std::getline(ss, cell, ',');
      std::getline(ss, cell, ',');
      out.push_back(std::stof(cell));
    } else {
      while (std::getline(ss, cell, ',')) out.push_back(std::stof(cell));
    }
  }
  return out;
}

// fish.csv as [1, 3, 224, 224]: BGR pixels 0..255 (SqueezeNet's convention); rgb_127_128 swaps
// to RGB and maps each pixel to (x - 127) / 128 (EfficientNet-Lite0's).
inline Tensor fish_input(bool rgb_127_128) {
  const auto v = read_numbers(shared_models() / "testdata" / "fish.csv", false);
  Tensor t = Tensor::empty({1, 3, 224, 224});
  float* p = t.data<float>();
  const std::size_t plane = 224 * 224;
  for (std::size_t c = 0; c < 3; ++c)
    for (std::size_t k = 0; k < plane; ++k)
      p[c * plane + k] =
          rgb_127_128 ? (v[(2 - c) * plane + k] - 127.0f) / 128.0f : v[c * plane + k];
  return t;
}

// A small graph under construction.
struct GraphBuilder {
  onnx::ModelProto model;
  onnx::GraphProto* g;
  explicit GraphBuilder(int opset = 13) {
    model.set_ir_version(7);
    model.set_producer_name("convkit-test");
    auto* o = model.add_opset_import();
    o->set_domain("");
    o->set_version(opset);
    g = model.mutable_graph();
    g->set_name("test");
  }
  void input(const std::string& name, std::vector<std::int64_t> dims, bool batch_symbolic = true) {
    auto* in = g->add_input();
    in->set_name(name);
    auto* tt = in->mutable_type()->mutable_tensor_type();
    tt->set_elem_type(onnx::TensorProto::FLOAT);
    for (std::size_t k = 0; k < dims.size(); ++k) {
      auto* d = tt->mutable_shape()->add_dim();
      if (k == 0 && batch_symbolic)
        d->set_dim_param("N");
      else
        d->set_dim_value(dims[k]);
    }
  }
  void output(const std::string& name) {
    auto* o = g->add_output();
    o->set_name(name);
    o->mutable_type()->mutable_tensor_type()->set_elem_type(onnx::TensorProto::FLOAT);
  }
  void init(const std::string& name, std::vector<std::int64_t> dims, const std::vector<float>& v) {
    io::onnx_file::write_tensor(*g->add_initializer(), name, dims, v.data());
  }
  void init_i64(const std::string& name, std::vector<std::int64_t> dims,
                const std::vector<std::int64_t>& v) {
    io::onnx_file::write_tensor(*g->add_initializer(), name, dims, v);
  }
  onnx::NodeProto* node(const std::string& op, const std::string& name,
                        std::vector<std::string> inputs, std::vector<std::string> outputs) {
    auto* n = g->add_node();
    n->set_op_type(op);
    n->set_name(name);
    for (auto& i : inputs) n->add_input(i);
    for (auto& o : outputs) n->add_output(o);
    return n;
  }
  static void ints(onnx::NodeProto* n, const std::string& name, std::vector<std::int64_t> v) {
    auto* a = n->add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::INTS);
    for (auto x : v) a->add_ints(x);
  }
  static void integer(onnx::NodeProto* n, const std::string& name, std::int64_t v) {
    auto* a = n->add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::INT);
    a->set_i(v);
  }
  static void real(onnx::NodeProto* n, const std::string& name, float v) {
    auto* a = n->add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::FLOAT);
    a->set_f(v);
  }
  void save(const std::string& path) const { io::onnx_file::write_model(model, path); }
};

}  // namespace convkit::test
