// onnx_roundtrip: the models that bench/onnx_roundtrip.py runs in onnxruntime, the independent
// check of io::export_onnx. For every examples/*.yaml that builds, the zoo's resnet20,
// mobilenet_v2 and efficientnet_lite0 (64 px), the shared efficientnet_lite0.onnx imported, and
// small models covering each exported op (GELU's expansions, SiLU, HardSwish, Resize and the
// others the importer cannot read back), it writes into OUT_DIR:
//   <name>.onnx         the export (random weights from a seed; BatchNorm statistics perturbed)
//   <name>.input.bin    a random f32 input [N, C, H, W], raw little-endian (N = 2; 1 where the
//                       batch is static)
//   <name>.output.bin   convkit's output for it, raw f32
//
//   onnx_roundtrip --out /tmp/onnx_rt [--examples examples] [--models ../shared/models]
#include <convkit/io/onnx.h>
#include <convkit/nn/zoo.h>
#include <convkit/run/config.h>

#include <CLI/CLI.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <random>

namespace {

using namespace convkit;
namespace fs = std::filesystem;
using nn::Activation;

void write_floats(const fs::path& path, const Tensor& t) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(t.data<float>()), std::streamsize(t.nbytes()));
  if (!out) fail("cannot write '{}'", path.string());
}

// BatchNorm statistics and affine terms away from their 1/0 defaults, so epsilon, momentum and
// the parameter order matter.
void perturb_batch_norm(nn::Model& model, std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(0.5f, 1.5f);
  for (const auto& name : model.parameter_names()) {
    const bool scale = name.ends_with(".running_var") || name.ends_with(".gamma");
    const bool shift = name.ends_with(".running_mean") || name.ends_with(".beta");
    if (!scale && !shift) continue;
    Tensor t = model.parameter(name);
    for (std::int64_t k = 0; k < t.numel(); ++k) t.data<float>()[k] = u(rng) - (shift ? 1.0f : 0);
  }
}

void dump(const nn::Model& model, const fs::path& dir, const std::string& name,
          const io::OnnxExportOptions& options = {}) {
  io::export_onnx(model, (dir / (name + ".onnx")).string(), options);
  const std::int64_t batch = options.dynamic_batch ? 2 : 1;
  std::vector<std::int64_t> dims{batch};
  const Shape sample = model.input_shape();
  for (auto d : sample.dims()) dims.push_back(d);
  Tensor x = Tensor::empty(Shape(dims));
  std::mt19937 rng(1234);
  std::uniform_real_distribution<float> u(-2.0f, 2.0f);
  for (std::int64_t k = 0; k < x.numel(); ++k) x.data<float>()[k] = u(rng);
  auto plan = model.compile_inference({.batch = batch});
  plan.input().copy_from(x);
  plan.forward();
  write_floats(dir / (name + ".input.bin"), x);
  write_floats(dir / (name + ".output.bin"), plan.output());
  std::printf("wrote %s (opset %lld)\n", name.c_str(), static_cast<long long>(options.opset));
}

nn::Model ready(nn::Model model, std::uint32_t seed) {
  model.initialize(seed);
  perturb_batch_norm(model, seed);
  return model;
}

nn::Model ops_cnn() {
  return nn::sequential(
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
       nn::AvgPool2D{.pool = 2, .stride = 1, .padding = nn::Padding::Same}, nn::Dropout{},
       nn::Flatten{}, nn::Dense{.units = 16, .activation = Activation::ReLU},
       nn::Dense{.units = 5, .use_bias = false}, nn::Softmax{}});
}

nn::Model ops_activations() {
  auto c = [] { return nn::Conv2D{.filters = 4, .kernel = 1}; };
  return nn::sequential({4, 5, 6}, {nn::ReLU{},
                                    c(),
                                    nn::LeakyReLU{.alpha = 0.2},
                                    nn::ELU{.alpha = 0.7},
                                    nn::Sigmoid{},
                                    c(),
                                    nn::Tanh{},
                                    c(),
                                    nn::ReLU6{},
                                    c(),
                                    nn::Clip{.min = -0.5, .max = 2},
                                    c(),
                                    nn::HardSwish{},
                                    nn::HardSigmoid{},
                                    c(),
                                    nn::SiLU{},
                                    c(),
                                    nn::GELU{},
                                    c(),
                                    nn::GELU{.tanh_approximation = true}});
}

nn::Model ops_branches() {
  nn::Value in = nn::Input({4, 6, 6});
  nn::Value a = nn::Conv2D{.filters = 6, .kernel = 3, .padding = nn::Padding::Same}(in);
  nn::Value b = nn::Conv2D{.filters = 6, .kernel = 1}(in);
  nn::Value c = nn::Conv2D{.filters = 6, .kernel = 3, .padding = nn::Padding::Same}(b);
  nn::Value sum = nn::Add{}({a, b, c});
  nn::Value gate = nn::Sigmoid{}(
      nn::Conv2D{.filters = 6, .kernel = 1}(nn::GlobalAvgPool2D{.keepdims = true}(sum)));
  nn::Value cat = nn::Concat{}({nn::Multiply{}({sum, gate}), a});
  nn::Value padded = nn::Pad{.pads = {1, 2, 0, 1}, .value = 0.5}(cat);
  nn::Value r = nn::Reshape{.shape = {-1, 12}}(padded);
  return nn::Model(in, nn::Dense{.units = 3}(nn::Flatten{}(r)));
}

nn::Model ops_resize(const std::string& mode) {  // up by 2 and by 7/3, down by 5/12 and 6/14
  return nn::sequential({2, 6, 7}, {nn::Resize{.height = 12, .width = 14, .mode = mode},
                                    nn::Conv2D{.filters = 3, .kernel = 3},
                                    nn::Resize{.height = 5, .width = 6, .mode = mode},
                                    nn::Resize{.height = 7, .width = 14, .mode = mode}});
}

// Runs `f`; a model that does not build is reported and skipped.
void attempt(const std::string& name, const std::function<void()>& f) {
  try {
    f();
  } catch (const std::exception& e) {
    std::printf("skipped %s: %s\n", name.c_str(), e.what());
  }
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"writes ONNX exports with inputs and convkit's outputs for onnxruntime"};
  std::string out, examples = "examples", models = "../shared/models";
  app.add_option("--out", out, "output folder")->required();
  app.add_option("--examples", examples, "folder of example YAML configs");
  app.add_option("--models", models, "folder with efficientnet_lite0.onnx");
  CLI11_PARSE(app, argc, argv);
  std::setvbuf(stdout, nullptr, _IOLBF, 0);  // lines in order with the Python caller's
  const fs::path dir(out);
  fs::create_directories(dir);

  std::vector<fs::path> configs;
  for (const auto& e : fs::directory_iterator(examples))
    if (e.path().extension() == ".yaml") configs.push_back(e.path());
  std::sort(configs.begin(), configs.end());
  for (const auto& file : configs) {
    const std::string name = "example_" + file.stem().string();
    attempt(name, [&] {
      run::RunConfig cfg = run::load_run_config(file.string(), {});
      nn::Model model = cfg.build_model();
      cfg.initialize_model(model);
      perturb_batch_norm(model, 7);
      dump(model, dir, name);
    });
  }
  for (const auto& [zoo, size] : std::vector<std::pair<std::string, std::int64_t>>{
           {"resnet20", 32}, {"mobilenet_v2", 64}, {"efficientnet_lite0", 64}}) {
    attempt(zoo, [&] {
      dump(ready(nn::build_zoo_model({.name = zoo, .num_classes = 10, .input = {3, size, size}}),
                 11),
           dir, "zoo_" + zoo);
    });
  }
  attempt("imported_efficientnet_lite0", [&] {
    const nn::Model model = io::import_onnx((fs::path(models) / "efficientnet_lite0.onnx").string(),
                                            {.input_shape = Shape{3, 224, 224}});
    dump(model, dir, "imported_efficientnet_lite0");
  });
  dump(ready(ops_cnn(), 1), dir, "ops_cnn");
  for (std::int64_t opset : {13, 17, 20})
    dump(ready(ops_activations(), 2), dir, fmt::format("ops_activations_opset{}", opset),
         {.opset = opset});
  dump(ready(ops_branches(), 3), dir, "ops_branches");
  dump(ready(ops_resize("bilinear"), 4), dir, "ops_resize_bilinear");
  dump(ready(ops_resize("nearest"), 5), dir, "ops_resize_nearest");
  dump(ready(ops_cnn(), 6), dir, "ops_cnn_static_batch", {.dynamic_batch = false});
  return 0;
}
