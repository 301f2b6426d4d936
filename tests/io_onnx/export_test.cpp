// ONNX export: small models covering every exported op are written with io::export_onnx, read
// back with io::import_onnx (an independent code path) and must give the same outputs (max abs
// diff <= 1e-5) at a batch other than 1 (the batch is dynamic). Also: fused activations carried
// in op attributes, the zoo networks, the GELU expansion below opset 20, the file's structure
// (dim_param N, names, initializers) and the one error for layers with no ONNX form.
#include "io/io_test_util.h"
#include "io_onnx/onnx_test_util.h"

#include <convkit/io/onnx.h>
#include <convkit/nn/zoo.h>

#include "nn/model_access.h"
#include "ops/batch_norm.h"
#include "ops/conv2d.h"
#include "ops/dense.h"
#include "ops/pool2d.h"
#include "ops/registry.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>

namespace convkit {
namespace {

using nn::Activation;

std::vector<float> run(const nn::Model& model, const Tensor& x) {
  auto plan = model.compile_inference({.batch = x.dim(0)});
  plan.input().copy_from(x);
  plan.forward();
  const Tensor y = plan.output();
  return {y.data<float>(), y.data<float>() + y.numel()};
}

Tensor random_input(const Shape& sample, std::int64_t batch, std::uint32_t seed) {
  std::vector<std::int64_t> dims{batch};
  for (auto d : sample.dims()) dims.push_back(d);
  Tensor t = Tensor::empty(Shape(dims));
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(-3.0f, 3.0f);
  for (std::int64_t k = 0; k < t.numel(); ++k) t.data<float>()[k] = u(rng);
  return t;
}

// Initializes the model and gives BatchNorm layers non-trivial statistics and affine terms.
void initialize(nn::Model& model, std::uint64_t seed) {
  model.initialize(seed);
  std::mt19937 rng{std::uint32_t(seed)};
  std::uniform_real_distribution<float> u(0.5f, 1.5f);
  for (const auto& name : model.parameter_names()) {
    const bool scale = name.ends_with(".running_var") || name.ends_with(".gamma");
    const bool shift = name.ends_with(".running_mean") || name.ends_with(".beta");
    if (!scale && !shift) continue;
    Tensor t = model.parameter(name);
    for (std::int64_t k = 0; k < t.numel(); ++k) t.data<float>()[k] = u(rng) - (shift ? 1.0f : 0);
  }
}

double max_abs_diff(const std::vector<float>& a, const std::vector<float>& b) {
  EXPECT_EQ(a.size(), b.size());
  double worst = 0;
  for (std::size_t k = 0; k < std::min(a.size(), b.size()); ++k)
    worst = std::max(worst, double(std::abs(a[k] - b[k])));
  return worst;
}

// Exports, re-imports and compares on a batch of 3; returns the re-imported model.
nn::Model expect_round_trip(const nn::Model& model, const std::string& file,
                            const io::OnnxExportOptions& options = {}, double tol = 1e-5) {
  io::export_onnx(model, file, options);
  nn::Model back = io::import_onnx(file);
  EXPECT_EQ(back.input_shape(), model.input_shape());
  EXPECT_EQ(back.output_shape(), model.output_shape());
  const Tensor x = random_input(model.input_shape(), 3, 7);
  const double diff = max_abs_diff(run(model, x), run(back, x));
  EXPECT_LE(diff, tol) << file;
  std::printf("%s: max |convkit - re-imported| = %.2e\n",
              std::filesystem::path(file).filename().c_str(), diff);
  return back;
}

std::vector<std::string> op_types(const std::string& file) {
  const onnx::ModelProto m = io::onnx_file::read_model(file);
  std::vector<std::string> out;
  for (const auto& n : m.graph().node()) out.push_back(n.op_type());
  return out;
}

bool has(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

TEST(OnnxExport, ConvPoolNormDenseRoundTrip) {
  io::testing::ScratchDir dir;
  nn::Model model = nn::sequential(
      {3, 17, 15},
      {nn::Conv2D{.filters = 8, .kernel = 3, .stride = 2, .padding = nn::Padding::Same},
       nn::BatchNorm{.momentum = 0.2, .epsilon = 1e-3, .activation = Activation::ReLU},
       nn::Conv2D{.filters = 8,
                  .kernel = {3, 2},
                  .padding = nn::Padding::Explicit,
                  .pads = {1, 0, 2, 1},
                  .dilation = 2,
                  .groups = 2,
                  .use_bias = false},
       nn::MaxPool2D{.pool = 3, .stride = 2, .padding = nn::Padding::Same},
       nn::AvgPool2D{.pool = 2,
                     .stride = 1,
                     .padding = nn::Padding::Explicit,
                     .pads = {1, 1, 0, 0},
                     .count_include_pad = true},
       nn::AvgPool2D{.pool = 2, .stride = 1, .padding = nn::Padding::Same},
       nn::Dropout{.rate = 0.3}, nn::Flatten{},
       nn::Dense{.units = 16, .activation = Activation::ReLU}, nn::SpatialDropout2D{.rate = 0.1},
       nn::Dense{.units = 5, .use_bias = false}, nn::Softmax{}});
  initialize(model, 1);
  const std::string file = (dir / "cnn.onnx").string();
  expect_round_trip(model, file);
  const auto ops = op_types(file);
  EXPECT_FALSE(has(ops, "Dropout"));
  for (auto op : {"Conv", "BatchNormalization", "MaxPool", "AveragePool", "Gemm", "Softmax"})
    EXPECT_TRUE(has(ops, op)) << op;
}

TEST(OnnxExport, ActivationsRoundTrip) {
  io::testing::ScratchDir dir;
  nn::Model model = nn::sequential(
      {4, 5, 6},
      {nn::ReLU{}, nn::Conv2D{.filters = 4, .kernel = 1}, nn::LeakyReLU{.alpha = 0.2},
       nn::ELU{.alpha = 0.7}, nn::Sigmoid{}, nn::Conv2D{.filters = 4, .kernel = 1}, nn::Tanh{},
       nn::Conv2D{.filters = 4, .kernel = 1}, nn::ReLU6{}, nn::Conv2D{.filters = 4, .kernel = 1},
       nn::Clip{.min = -0.5, .max = 2}, nn::Conv2D{.filters = 4, .kernel = 1}, nn::HardSwish{},
       nn::HardSigmoid{}, nn::Conv2D{.filters = 4, .kernel = 1}, nn::SiLU{}});
  initialize(model, 2);
  for (std::int64_t opset : {13, 17, 20}) {  // 13: HardSwish as x * HardSigmoid(x)
    const std::string file = (dir / fmt::format("act{}.onnx", opset)).string();
    expect_round_trip(model, file, {.opset = opset});
    EXPECT_EQ(has(op_types(file), "HardSwish"), opset >= 14) << opset;
  }
}

TEST(OnnxExport, GeluIsGeluAtOpset20AndAnExpansionBelow) {
  io::testing::ScratchDir dir;
  for (bool tanh_form : {false, true}) {
    nn::Model model =
        nn::sequential({6}, {nn::Dense{.units = 6}, nn::GELU{.tanh_approximation = tanh_form}});
    initialize(model, 3);
    const std::string file20 = (dir / "gelu20.onnx").string();
    expect_round_trip(model, file20, {.opset = 20});
    EXPECT_TRUE(has(op_types(file20), "Gelu"));
    // Below 20: Mul/Add/Erf (Tanh) nodes, which the importer does not map; onnxruntime checks
    // their numbers (bench/onnx_roundtrip.py).
    const std::string file17 = (dir / "gelu17.onnx").string();
    io::export_onnx(model, file17);
    const auto ops = op_types(file17);
    EXPECT_FALSE(has(ops, "Gelu"));
    EXPECT_TRUE(has(ops, tanh_form ? "Tanh" : "Erf"));
  }
}

TEST(OnnxExport, BranchesRoundTrip) {
  io::testing::ScratchDir dir;
  nn::Value in = nn::Input({4, 6, 6});
  nn::Value a = nn::Conv2D{.filters = 6, .kernel = 3, .padding = nn::Padding::Same}(in);
  nn::Value b = nn::Conv2D{.filters = 6, .kernel = 1}(in);
  nn::Value c = nn::Conv2D{.filters = 6, .kernel = 3, .padding = nn::Padding::Same}(b);
  nn::Value sum = nn::Add{.name = "sum3"}({a, b, c});
  nn::Value pooled = nn::GlobalAvgPool2D{.keepdims = true}(sum);  // squeeze-excitation gate
  nn::Value gate = nn::Sigmoid{}(nn::Conv2D{.filters = 6, .kernel = 1}(pooled));
  nn::Value scaled = nn::Multiply{}({sum, gate});
  nn::Value cat = nn::Concat{.axis = 1}({scaled, a});
  nn::Value padded = nn::Pad{.pads = {1, 2, 0, 1}, .value = 0.5}(cat);
  nn::Value r = nn::Reshape{.shape = {-1, 12}}(padded);
  nn::Value y = nn::Dense{.units = 3}(nn::Flatten{}(r));
  nn::Model model(in, y);
  initialize(model, 4);
  const std::string file = (dir / "branches.onnx").string();
  expect_round_trip(model, file);
  const auto ops = op_types(file);
  for (auto op : {"Add", "GlobalAveragePool", "Mul", "Concat", "Pad", "Reshape", "Flatten"})
    EXPECT_TRUE(has(ops, op)) << op;
}

TEST(OnnxExport, ResizeRoundTrip) {
  io::testing::ScratchDir dir;
  for (std::string mode : {"bilinear", "nearest"}) {
    nn::Model model = nn::sequential(
        {2, 5, 7},
        {nn::Resize{.height = 10, .width = 14, .mode = mode}, nn::Conv2D{.filters = 3, .kernel = 3},
         nn::Resize{.height = 4, .width = 6, .mode = mode}, nn::GlobalAvgPool2D{}});
    initialize(model, 5);
    expect_round_trip(model, (dir / (mode + ".onnx")).string());
  }
}

TEST(OnnxExport, LastDropoutBecomesIdentity) {
  io::testing::ScratchDir dir;
  nn::Model model = nn::sequential({3}, {nn::Dense{.units = 2}, nn::Dropout{}});
  initialize(model, 6);
  const std::string file = (dir / "drop.onnx").string();
  expect_round_trip(model, file);
  EXPECT_EQ(op_types(file), (std::vector<std::string>{"Gemm", "Identity"}));
}

// Activations folded into Conv2D, Dense, BatchNorm and MaxPool2D attributes (what a model spec
// may carry) are written as nodes of their own.
TEST(OnnxExport, FusedActivationAttributesBecomeNodes) {
  io::testing::ScratchDir dir;
  auto g = std::make_shared<graph::Graph>();
  graph::ValueId v = g->add_input("image", Shape{3, 8, 8});
  auto node = [&](const char* name, std::shared_ptr<const ops::Op> op) {
    v = g->add_node(name, std::move(op), {v})[0];
  };
  node(
      "conv",
      std::make_shared<ops::Conv2D>(ops::Conv2DAttrs{
          .filters = 4, .padding = ops::Padding::Same, .activation = ops::FusedActivation::ReLU6}));
  node("bn", std::make_shared<ops::BatchNorm>(
                 ops::BatchNormAttrs{.activation = ops::FusedActivation::ReLU}));
  node("pool", std::make_shared<ops::Pool2D>(
                   ops::PoolKind::Max, ops::Pool2DAttrs{.activation = ops::FusedActivation::Tanh}));
  node("flat", ops::make_op("Flatten", {}));
  node("fc", std::make_shared<ops::Dense>(
                 ops::DenseAttrs{.units = 3, .activation = ops::FusedActivation::Sigmoid}));
  g->set_outputs({v});
  nn::Model model = nn::ModelAccess::from_graph(g);
  initialize(model, 7);
  const std::string file = (dir / "fused.onnx").string();
  expect_round_trip(model, file);
  EXPECT_EQ(op_types(file),
            (std::vector<std::string>{"Conv", "Clip", "BatchNormalization", "Relu", "MaxPool",
                                      "Tanh", "Flatten", "Gemm", "Sigmoid"}));
}

TEST(OnnxExport, ZooModelsRoundTrip) {
  io::testing::ScratchDir dir;
  struct Case {
    std::string name;
    std::array<std::int64_t, 3> input;
  };
  for (const Case& c : {Case{"resnet20", {3, 32, 32}}, Case{"mobilenet_v2", {3, 64, 64}},
                        Case{"efficientnet_lite0", {3, 64, 64}}}) {
    nn::Model model = nn::build_zoo_model({.name = c.name, .num_classes = 10, .input = c.input});
    initialize(model, 8);
    expect_round_trip(model, (dir / (c.name + ".onnx")).string());
  }
}

TEST(OnnxExport, FileStructure) {
  io::testing::ScratchDir dir;
  nn::Model model = nn::sequential({1, 4, 4}, {nn::Conv2D{.filters = 2, .kernel = 3, .name = "c"},
                                               nn::Flatten{}, nn::Dense{.units = 3, .name = "fc"}});
  initialize(model, 9);
  const std::string file = (dir / "m.onnx").string();
  io::export_onnx(
      model, file,
      {.opset = 13, .dynamic_batch = false, .input_name = "x", .output_name = "logits"});
  const auto m = io::onnx_file::read_model(file);
  EXPECT_EQ(m.opset_import(0).version(), 13);
  EXPECT_EQ(m.ir_version(), 7);
  EXPECT_EQ(m.producer_name(), "convkit");
  ASSERT_EQ(m.graph().input_size(), 1);
  const auto& in = m.graph().input(0);
  EXPECT_EQ(in.name(), "x");
  const auto& dims = in.type().tensor_type().shape();
  ASSERT_EQ(dims.dim_size(), 4);
  EXPECT_EQ(dims.dim(0).dim_value(), 1);
  EXPECT_EQ(dims.dim(3).dim_value(), 4);
  EXPECT_EQ(m.graph().output(0).name(), "logits");
  EXPECT_EQ(m.graph().output(0).type().tensor_type().shape().dim(1).dim_value(), 3);
  std::vector<std::string> inits;
  for (const auto& t : m.graph().initializer()) {
    inits.push_back(t.name());
    EXPECT_EQ(t.data_type(), onnx::TensorProto::FLOAT);
    EXPECT_TRUE(t.has_raw_data());
  }
  EXPECT_EQ(inits, (std::vector<std::string>{"c.weight", "c.bias", "fc.weight", "fc.bias"}));
  io::export_onnx(model, file);
  EXPECT_EQ(io::onnx_file::read_model(file)
                .graph()
                .input(0)
                .type()
                .tensor_type()
                .shape()
                .dim(0)
                .dim_param(),
            "N");
  expect_round_trip(model, file, {.dynamic_batch = false});  // the importer takes any batch
}

// An op with no ONNX form (a stand-in: the identity under another name).
class Mystery final : public ops::Op {
 public:
  std::string_view type() const override { return "Mystery"; }
  ops::Attrs attrs() const override { return {}; }
  std::vector<ops::TensorSpec> infer(std::span<const ops::TensorSpec> in) const override {
    return {in[0]};
  }
  void forward(const ops::ForwardCall&) const override {}
  void backward(const ops::BackwardCall&) const override {}
};

TEST(OnnxExport, UnexportableLayersAreNamedInOneError) {
  io::testing::ScratchDir dir;
  auto g = std::make_shared<graph::Graph>();
  graph::ValueId v = g->add_input("image", Shape{4});
  v = g->add_node("odd_one", std::make_shared<Mystery>(), {v})[0];
  v = g->add_node("relu", ops::make_op("ReLU", {}), {v})[0];
  v = g->add_node("odd_two", std::make_shared<Mystery>(), {v})[0];
  g->set_outputs({v});
  nn::Model model = nn::ModelAccess::from_graph(g);
  const std::string file = (dir / "bad.onnx").string();
  try {
    io::export_onnx(model, file);
    FAIL() << "no error";
  } catch (const Error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("2 layers cannot be exported"), std::string::npos) << what;
    EXPECT_NE(what.find("'odd_one' (Mystery)"), std::string::npos) << what;
    EXPECT_NE(what.find("'odd_two' (Mystery)"), std::string::npos) << what;
    EXPECT_EQ(what.find("relu"), std::string::npos) << what;
  }
  EXPECT_TRUE(dir.entries().empty());  // nothing written
  nn::Model ok = nn::sequential({4}, {nn::ReLU{}});
  EXPECT_THROW(io::export_onnx(ok, file, {.opset = 12}), Error);
  EXPECT_THROW(io::export_onnx(ok, file, {.input_name = "x", .output_name = "x"}), Error);
}

}  // namespace
}  // namespace convkit
