// Every layer type of the layer schema from YAML, end to end through `convkit summary CONFIG`:
// a model using each type with its defaults builds; an unknown key on any type is a config
// error (exit 2) naming its path; a wrong type names the key.
#include <convkit/nn/layer_schema.h>

#include <gtest/gtest.h>

#include "e2e/cli_run.h"

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>

namespace convkit {
namespace {

namespace fs = std::filesystem;

using testing::run_cli;
using Output = testing::CliOutput;

// One layer of each type, defaults plus required keys, in an order whose shapes fit [3, 16, 16].
const std::pair<const char*, const char*> kLayers[] = {
    {"resize", "{type: resize, size: [20, 18]}"},                                 // 20 x 18
    {"pad", "{type: pad, padding: 1}"},                                           // 22 x 20
    {"conv2d", "{type: conv2d, filters: 8, kernel: [7, 5], activation: relu6}"},  // 16 x 16
    {"relu6", "{type: relu6}"},
    {"clip", "{type: clip}"},
    {"hard_swish", "{type: hard_swish}"},
    {"hard_sigmoid", "{type: hard_sigmoid}"},
    {"relu", "{type: relu}"},
    {"leaky_relu", "{type: leaky_relu}"},
    {"elu", "{type: elu}"},
    {"gelu", "{type: gelu}"},
    {"silu", "{type: silu}"},
    {"sigmoid", "{type: sigmoid}"},
    {"tanh", "{type: tanh}"},
    {"batch_norm", "{type: batch_norm}"},
    {"squeeze_excitation", "{type: squeeze_excitation}"},
    {"residual", "{type: residual, layers: [{type: conv2d, filters: 8, padding: same}]}"},
    {"max_pool2d", "{type: max_pool2d}"},  // 8 x 8
    {"avg_pool2d", "{type: avg_pool2d}"},  // 4 x 4
    {"spatial_dropout2d", "{type: spatial_dropout2d}"},
    {"dropout", "{type: dropout}"},
    {"global_avg_pool2d", "{type: global_avg_pool2d}"},  // [8]
    {"reshape", "{type: reshape, shape: [-1]}"},
    {"flatten", "{type: flatten}"},
    {"dense", "{type: dense, units: 4}"},
    {"softmax", "{type: softmax}"},
};

class LayersYamlTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("convkit_layers_yaml_" + std::to_string(::getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  // `convkit summary` on a config with these layer lines.
  Output summary(const std::vector<std::string>& layers) {
    std::string yaml = "dataset: {name: idx}\nmodel:\n  input: [3, 16, 16]\n  layers:\n";
    for (const auto& l : layers) yaml += "    - " + l + "\n";
    const fs::path path = dir_ / "model.yaml";
    std::ofstream(path) << yaml;
    return run_cli("summary " + path.string());
  }
  fs::path dir_;
};

TEST_F(LayersYamlTest, EveryLayerTypeBuildsWithItsDefaults) {
  std::vector<std::string> lines;
  std::map<std::string, bool> covered;
  for (const auto& [type, line] : kLayers) {
    lines.emplace_back(line);
    covered[type] = true;
  }
  for (const auto& type : nn::layer_type_names())
    EXPECT_TRUE(covered.count(type)) << type << " is not tested";
  const Output r = summary(lines);
  ASSERT_EQ(r.code, 0) << r.output;
  for (const char* op : {"Pad", "ReLU6", "Clip", "HardSwish", "HardSigmoid", "Multiply"})
    EXPECT_NE(r.output.find(op), std::string::npos) << op << "\n" << r.output;
}

TEST_F(LayersYamlTest, UnknownKeysAndWrongTypesNameTheKey) {
  for (const auto& [type, line] : kLayers) {
    SCOPED_TRACE(type);
    std::string bad(line);
    bad.insert(bad.size() - 1, ", bogus: 1");
    const Output r = summary({"{type: pad, padding: 0}", bad});
    EXPECT_EQ(r.code, 2) << r.output;
    EXPECT_NE(r.output.find("model.layers[1].bogus"), std::string::npos) << r.output;
  }
  Output r = summary({"{type: clip, min: low}"});
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_NE(r.output.find("model.layers[0].min"), std::string::npos) << r.output;
  r = summary({"{type: conv2d, filters: 4, activation: hardswish}"});
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_NE(
      r.output.find(
          "'model.layers[0].activation': unknown activation 'hardswish' (expected none, relu,"),
      std::string::npos)
      << r.output;
  r = summary({"{type: pad, padding: [1, 2, 3]}"});
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_NE(r.output.find("model.layers[0].padding"), std::string::npos) << r.output;
  r = summary({"{type: squeeze_excitation, gate: clip}"});
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_NE(r.output.find("model.layers[0].gate"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace convkit
