// Model spec JSON: a graph written by graph_to_json and rebuilt by graph_from_json has the same
// nodes, ops, attributes, shapes, parameters and inits; malformed or tampered specs are
// rejected with the source name and the JSON path of the problem.
#include "io/model_spec.h"

#include "io_test_util.h"
#include "nn/model_access.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace convkit::io {
namespace {

using testing::every_layer_model;
using testing::same_bits;
using testing::small_cnn;
using Json = nlohmann::ordered_json;

void expect_same_graph(const graph::Graph& a, const graph::Graph& b) {
  ASSERT_EQ(a.values().size(), b.values().size());
  for (std::size_t v = 0; v < a.values().size(); ++v) {
    EXPECT_EQ(a.values()[v].name, b.values()[v].name);
    EXPECT_EQ(a.values()[v].spec, b.values()[v].spec) << a.values()[v].name;
    EXPECT_EQ(a.values()[v].producer, b.values()[v].producer);
  }
  EXPECT_EQ(a.inputs(), b.inputs());
  EXPECT_EQ(a.outputs(), b.outputs());
  ASSERT_EQ(a.nodes().size(), b.nodes().size());
  for (std::size_t i = 0; i < a.nodes().size(); ++i) {
    const auto &x = a.nodes()[i], &y = b.nodes()[i];
    EXPECT_EQ(x.name, y.name);
    EXPECT_EQ(x.op->type(), y.op->type()) << x.name;
    EXPECT_EQ(x.op->attrs().items(), y.op->attrs().items())
        << x.name << ": " << x.op->attrs().str() << " vs " << y.op->attrs().str();
    EXPECT_EQ(x.inputs, y.inputs) << x.name;
    EXPECT_EQ(x.outputs, y.outputs) << x.name;
    EXPECT_EQ(x.params, y.params) << x.name;
    EXPECT_EQ(x.trainable, y.trainable) << x.name;
    EXPECT_EQ(x.l1, y.l1) << x.name;
    EXPECT_EQ(x.l2, y.l2) << x.name;
    EXPECT_EQ(x.lr_multiplier, y.lr_multiplier) << x.name;
  }
  ASSERT_EQ(a.params().size(), b.params().size());
  for (std::size_t p = 0; p < a.params().size(); ++p) {
    const auto &x = a.params()[p], &y = b.params()[p];
    EXPECT_EQ(x.name, y.name);
    EXPECT_EQ(x.spec.shape, y.spec.shape) << x.name;
    EXPECT_EQ(x.spec.trainable, y.spec.trainable) << x.name;
    EXPECT_EQ(x.spec.decay, y.spec.decay) << x.name;
    EXPECT_EQ(x.spec.fan_in, y.spec.fan_in) << x.name;
    EXPECT_EQ(x.spec.fan_out, y.spec.fan_out) << x.name;
    EXPECT_EQ(x.init.kind, y.init.kind) << x.name;
    EXPECT_EQ(x.init.a, y.init.a) << x.name;
    EXPECT_EQ(x.init.b, y.init.b) << x.name;
  }
}

// The message of the Error that `f` throws ("" when it does not throw).
template <typename F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(ModelSpecTest, FunctionalModelWithEveryLayerRoundTrips) {
  nn::Model model = every_layer_model();
  model.set_trainable("dense", false);  // frozen after building, besides "grouped" frozen at build
  model.set_lr_multiplier("stem", 0.25);  // a parameter group's learning-rate multiplier
  const auto& original = nn::ModelAccess::graph(model);
  const std::string json = graph_to_json(original);
  auto rebuilt = graph_from_json(json, "spec.json");
  expect_same_graph(original, *rebuilt);
  EXPECT_FALSE(rebuilt->node(rebuilt->find_node("grouped")).trainable);
  EXPECT_FALSE(rebuilt->node(rebuilt->find_node("dense")).trainable);
  EXPECT_EQ(rebuilt->node(rebuilt->find_node("stem")).l2, 5e-4);
  EXPECT_EQ(rebuilt->node(rebuilt->find_node("stem")).lr_multiplier, 0.25);
  EXPECT_EQ(graph_to_json(*rebuilt), json);  // a fixed point
}

// The layers pretrained backbones need (MobileNetV3-style): padding, ReLU6/Clip, hard
// activations (standalone and fused into conv/dense), a squeeze-excitation Multiply.
TEST(ModelSpecTest, BackboneLayersRoundTrip) {
  using namespace nn;
  Value in = Input({3, 10, 10}, "image");
  Value x = Pad{.pads = {1, 1, 0, 0}, .value = 0.5, .name = "pad"}(in);  // 11 x 11
  x = Conv2D{
      .filters = 8, .kernel = 3, .stride = 2, .activation = Activation::ReLU6, .name = "stem"}(x);
  x = HardSwish{.name = "hs"}(x);
  Value g = GlobalAvgPool2D{.keepdims = true}(x);
  g = Conv2D{.filters = 2, .kernel = 1, .activation = Activation::HardSwish}(g);
  g = Conv2D{.filters = 8, .kernel = 1, .activation = Activation::HardSigmoid, .name = "gate"}(g);
  x = Multiply{.name = "se"}({x, g});
  x = Clip{.min = -1.5, .max = 2.5, .name = "clip"}(x);
  x = ReLU6{}(HardSigmoid{}(x));
  Value y = Dense{.units = 4, .activation = Activation::ReLU6}(Flatten{}(x));
  nn::Model model(in, y);
  const auto& original = nn::ModelAccess::graph(model);
  const std::string json = graph_to_json(original);
  for (auto op :
       {"\"Pad\"", "\"Multiply\"", "\"Clip\"", "\"ReLU6\"", "\"HardSwish\"", "\"HardSigmoid\""})
    EXPECT_NE(json.find(op), std::string::npos) << op;
  auto rebuilt = graph_from_json(json, "backbone.json");
  expect_same_graph(original, *rebuilt);
  EXPECT_EQ(graph_to_json(*rebuilt), json);
}

TEST(ModelSpecTest, SequentialModelRoundTrips) {
  nn::Model model = small_cnn();
  auto rebuilt = graph_from_json(graph_to_json(nn::ModelAccess::graph(model)), "cnn.json");
  expect_same_graph(nn::ModelAccess::graph(model), *rebuilt);
}

TEST(ModelSpecTest, RebuiltModelInitializesIdentically) {
  // The init overrides (HeNormal, Constant 0.125, GlorotUniform, Uniform(-0.1, 0.1), Normal) are
  // part of the spec: the same seed gives the same weights, bit for bit.
  nn::Model model = every_layer_model();
  model.initialize(1234);
  nn::Model rebuilt = nn::ModelAccess::from_graph(
      graph_from_json(graph_to_json(nn::ModelAccess::graph(model)), "x"));
  rebuilt.initialize(1234);
  ASSERT_EQ(model.parameter_names(), rebuilt.parameter_names());
  for (const auto& name : model.parameter_names())
    EXPECT_TRUE(same_bits(model.parameter(name), rebuilt.parameter(name))) << name;
  EXPECT_EQ(model.parameter("stem.bias").data<float>()[0], 0.125f);
}

TEST(ModelSpecTest, FloatAttributesStayFloats) {
  // ELU's alpha 1.0 is written as 1.0 (not 1), so it reads back as a double.
  nn::Model model = nn::sequential({4}, {nn::ELU{}, nn::Dropout{.rate = 0.5}});
  const std::string json = graph_to_json(nn::ModelAccess::graph(model));
  EXPECT_NE(json.find(R"("alpha":1.0)"), std::string::npos) << json;
  auto rebuilt = graph_from_json(json, "x");
  const auto attrs =
      rebuilt->node(0).op->attrs();  // by value: iterate a named copy, not a temporary
  for (const auto& [key, value] : attrs.items())
    if (key == "alpha") EXPECT_TRUE(std::holds_alternative<double>(value));
}

// Edits the spec of small_cnn() and returns the error message of rebuilding it.
template <typename Edit>
std::string rebuild_error(Edit&& edit) {
  Json spec = Json::parse(graph_to_json(nn::ModelAccess::graph(small_cnn())));
  edit(spec);
  return error_of([&] { graph_from_json(spec.dump(), "bad_spec.json"); });
}

TEST(ModelSpecTest, ChangedFiltersFailOnRecordedParamShapes) {
  const auto msg = rebuild_error([](Json& s) { s["nodes"][0]["attrs"]["filters"] = 6; });
  EXPECT_NE(msg.find("bad_spec.json"), std::string::npos) << msg;
  EXPECT_NE(msg.find("params[0].shape"), std::string::npos) << msg;
  EXPECT_NE(msg.find("[4, 1, 3, 3]"), std::string::npos) << msg;  // recorded
  EXPECT_NE(msg.find("[6, 1, 3, 3]"), std::string::npos) << msg;  // rebuilt
}

TEST(ModelSpecTest, BadLrMultiplierNamesItsPath) {
  auto msg = rebuild_error([](Json& s) { s["nodes"][0]["lr_multiplier"] = -2; });
  EXPECT_NE(msg.find("nodes[0].lr_multiplier"), std::string::npos) << msg;
  EXPECT_NE(msg.find("-2"), std::string::npos) << msg;
  msg = rebuild_error([](Json& s) { s["nodes"][0]["lr_multiplier"] = "fast"; });
  EXPECT_NE(msg.find("nodes[0].lr_multiplier"), std::string::npos) << msg;
}

TEST(ModelSpecTest, TamperedSpecFailsShapeInferenceWithShapeError) {
  Json spec = Json::parse(graph_to_json(nn::ModelAccess::graph(every_layer_model())));
  spec["nodes"][0]["attrs"]["filters"] = 6;  // "skip" then adds [6, ...] and [8, ...]
  try {
    graph_from_json(spec.dump(), "net.json");
    FAIL() << "expected a ShapeError";
  } catch (const ShapeError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("net.json"), std::string::npos) << msg;
    EXPECT_NE(msg.find("nodes[5]"), std::string::npos) << msg;
    EXPECT_NE(msg.find("skip"), std::string::npos) << msg;
  }
}

TEST(ModelSpecTest, ErrorsNameTheSourceAndTheJsonPath) {
  struct Case {
    std::function<void(Json&)> edit;
    std::string path;
    std::string detail;
  };
  const std::vector<Case> cases = {
      {[](Json& s) { s["format"] = "keras"; }, "format", "convkit.model"},
      {[](Json& s) { s["version"] = 2; }, "version", "found 2"},
      {[](Json& s) { s.erase("nodes"); }, "nodes", "missing"},
      {[](Json& s) { s["nodes"][0]["attrs"]["filters"] = "eight"; }, "nodes[0].attrs.filters",
       "integer"},
      {[](Json& s) { s["nodes"][0]["attrs"]["filters"] = -3; }, "nodes[0].attrs.filters", "> 0"},
      {[](Json& s) { s["nodes"][0]["attrs"]["filterz"] = 3; }, "nodes[0].attrs.filterz",
       "does not use"},
      {[](Json& s) {
         s["nodes"][0]["attrs"]["kernel"] = {3, "x"};
       },
       "nodes[0].attrs.kernel[1]", "number"},
      {[](Json& s) { s["nodes"][0]["op"] = "Conv3D"; }, "nodes[0].op", "unknown op type"},
      {[](Json& s) { s["nodes"][1]["inputs"][0] = "nowhere"; }, "nodes[1].inputs[0]",
       "unknown value 'nowhere'"},
      {[](Json& s) { s["nodes"][1]["name"] = "conv2d"; }, "nodes[1]", "duplicate layer name"},
      {[](Json& s) { s["nodes"][1]["trainable"] = "yes"; }, "nodes[1].trainable", "true or false"},
      {[](Json& s) { s["nodes"][1]["colour"] = "red"; }, "nodes[1].colour", "unknown key"},
      {[](Json& s) {
         s["nodes"][0]["regularizer"] = {{"l1", 0}, {"l2", -1}};
       },
       "nodes[0].regularizer", ">= 0"},
      {[](Json& s) {
         s["nodes"][0]["regularizer"] = {{"l2", 0.1}};
       },
       "nodes[0].regularizer.l1", "missing"},
      {[](Json& s) { s["inputs"][0]["dtype"] = "f64"; }, "inputs[0].dtype", "f64"},
      {[](Json& s) {
         s["inputs"][0]["shape"] = {1, 0, 8};
       },
       "inputs[0].shape", "positive"},
      {[](Json& s) { s["outputs"] = Json::array(); }, "outputs", "at least one"},
      {[](Json& s) { s["params"][0]["init"]["kind"] = "xavier"; }, "params[0].init.kind",
       "unknown initializer"},
      {[](Json& s) { s["params"][0]["name"] = "conv2d.kernel"; }, "params", "conv2d.weight"},
      {[](Json& s) { s["params"].push_back(s["params"][0]); }, "params[", "listed twice"},
  };
  for (const auto& c : cases) {
    const auto msg = rebuild_error(c.edit);
    EXPECT_EQ(msg.rfind("bad_spec.json: ", 0), 0u) << msg;
    EXPECT_NE(msg.find(c.path), std::string::npos) << "want path " << c.path << " in: " << msg;
    EXPECT_NE(msg.find(c.detail), std::string::npos) << "want '" << c.detail << "' in: " << msg;
  }
  const auto not_json = error_of([] { graph_from_json("{\"format\": ", "broken.json"); });
  EXPECT_NE(not_json.find("broken.json: not valid JSON"), std::string::npos) << not_json;
}

TEST(ModelSpecTest, HandWrittenSpecWithoutParamsUsesDefaults) {
  const std::string json = R"({
    "format": "convkit.model", "version": 1,
    "inputs": [{"name": "x", "shape": [4], "dtype": "f32"}],
    "nodes": [{"name": "fc", "op": "Dense", "attrs": {"units": 3}, "inputs": ["x"]},
              {"name": "act", "op": "ReLU", "inputs": ["fc"]}],
    "outputs": ["act"]})";
  auto graph = graph_from_json(json, "hand.json");
  ASSERT_EQ(graph->params().size(), 2u);
  EXPECT_EQ(graph->params()[0].name, "fc.weight");
  EXPECT_EQ(graph->params()[0].spec.shape, (Shape{3, 4}));
  EXPECT_EQ(graph->params()[0].init.kind, InitKind::TorchUniform);
  EXPECT_TRUE(graph->node(0).trainable);
}

}  // namespace
}  // namespace convkit::io
