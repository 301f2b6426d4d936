// The model zoo (nn/zoo.h): parameter counts equal the published torchvision/timm figures at 1000
// classes and 224x224x3, multiply-adds of ResNet-18 and MobileNetV2 match the published ones,
// every network trains one step at a small input, layer names follow the references, and bad
// options are errors naming the option and listing the valid values.
#include <convkit/nn/zoo.h>

#include <convkit/optim/optimizer.h>
#include <convkit/util/rng.h>

#include "nn/model_access.h"
#include "nn/zoo/zoo_internal.h"
#include "support/test_util.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

namespace convkit::nn {
namespace {

using testing::error_of;
using testing::expect_contains;

bool has_layer(const Model& m, const std::string& name) {
  const auto names = m.layer_names();
  return std::find(names.begin(), names.end(), name) != names.end();
}

// A network's graph without a Model (no parameter memory, no initialization: VGG's 138 M
// parameters take seconds to initialize), for counting and naming.
struct Net {
  explicit Net(const ZooOptions& o) : output(zoo::build_values(o).second) {}
  const graph::Graph& graph() const { return *output.graph(); }
  std::int64_t parameter_count() const {  // as Model::parameter_count(): buffers excluded
    std::int64_t n = 0;
    for (const auto& p : graph().params())
      if (p.spec.trainable) n += p.spec.shape.numel();
    return n;
  }
  bool has_layer(const std::string& name) const { return graph().find_node(name) >= 0; }
  Shape parameter_shape(const std::string& name) const {
    for (const auto& p : graph().params())
      if (p.name == name) return p.spec.shape;
    return {};
  }
  Value output;
};

// Multiply-accumulates of the Conv2D and Dense layers per sample: what torchvision's "GFLOPS"
// column and the papers' "multiply-adds" count. convkit's flops_per_sample() counts 2 FLOPs per
// multiply-add and adds the elementwise work (BN, activations, pooling, residual adds).
double conv_dense_macs(const Model& m) {
  const auto& g = ModelAccess::graph(m);
  double macs = 0;
  for (const auto& n : g.nodes()) {
    if (n.op->type() != "Conv2D" && n.op->type() != "Dense") continue;
    std::vector<ops::TensorSpec> in;
    for (auto v : n.inputs) in.push_back(g.value(v).spec);
    macs += n.op->flops(in) / 2;
  }
  return macs;
}

struct Published {
  const char* name;
  std::int64_t params;  // torchvision's num_params; timm's for efficientnet_lite0
};

// NOTE: each figure was also recomputed layer by layer from the reference architectures.
TEST(ZooTest, ParameterCountsEqualThePublishedOnesAt224And1000Classes) {
  for (const Published& p :
       {Published{"resnet18", 11'689'512}, Published{"resnet34", 21'797'672},
        Published{"vgg11_bn", 132'868'840}, Published{"vgg16_bn", 138'365'992},
        Published{"mobilenet_v2", 3'504'872}, Published{"efficientnet_lite0", 4'652'008}}) {
    Net net({.name = p.name});
    EXPECT_EQ(net.parameter_count(), p.params) << p.name;
    EXPECT_EQ(net.output.shape(), Shape({1000})) << p.name;
  }
  // The same through a Model (what `convkit summary` prints).
  Model m = build_zoo_model({.name = "mobilenet_v2"});
  EXPECT_EQ(m.parameter_count(), 3'504'872);
  EXPECT_EQ(m.input_shape(), Shape({3, 224, 224}));
}

TEST(ZooTest, CifarResNetsWithProjectionShortcuts) {
  // He et al. 2016's CIFAR ResNets at 10 classes. Option B adds two 1x1 convs + BN (16->32 and
  // 32->64: 512 + 64 + 2,048 + 128 = 2,752 parameters) to the option-A counts (resnet20: 269,722).
  for (const Published& p : {Published{"resnet20", 272'474}, Published{"resnet32", 466'906},
                             Published{"resnet44", 661'338}, Published{"resnet56", 855'770}}) {
    Model m = build_zoo_model({.name = p.name, .num_classes = 10, .input = {3, 32, 32}});
    EXPECT_EQ(m.parameter_count(), p.params) << p.name;
  }
  // ResNet-18 with the CIFAR stem: the usual 11,173,962 of the CIFAR-10 ports.
  Model r18 = build_zoo_model(
      {.name = "resnet18", .num_classes = 10, .input = {3, 32, 32}, .stem = "cifar"});
  EXPECT_EQ(r18.parameter_count(), 11'173'962);
  Net vgg(
      {.name = "vgg16_bn", .num_classes = 10, .input = {3, 32, 32}, .classifier = "global_pool"});
  EXPECT_EQ(vgg.parameter_count(), 14'728'266);  // the features (14,723,136) + Dense(512, 10)
}

TEST(ZooTest, MultiplyAddsOfResNet18AndMobileNetV2At224) {
  // Published: ResNet-18 1.82 G multiply-adds (torchvision: "1.81 GFLOPS", which counts MACs),
  // MobileNetV2 300 M (the paper's table; torchvision 0.30).
  Model r18 = build_zoo_model({.name = "resnet18"});
  EXPECT_EQ(r18.parameter_count(), 11'689'512);
  const double r18_macs = conv_dense_macs(r18);
  EXPECT_NEAR(r18_macs / 1.82e9, 1.0, 0.02) << r18_macs;
  // All work: 2 FLOPs per MAC plus BN, ReLU, pooling and adds (under 1% more for ResNet-18).
  EXPECT_NEAR(r18.flops_per_sample() / 2 / 1.82e9, 1.0, 0.02) << r18.flops_per_sample();
  Model mb = build_zoo_model({.name = "mobilenet_v2"});
  const double mb_macs = conv_dense_macs(mb);
  EXPECT_NEAR(mb_macs / 300e6, 1.0, 0.02) << mb_macs;
  EXPECT_GT(mb.flops_per_sample(), 2 * mb_macs);
}

TEST(ZooTest, LayerNamesFollowTheReferenceModules) {
  Model r18 = build_zoo_model({.name = "resnet18", .input = {3, 64, 64}});
  for (const char* name : {"conv1", "bn1", "maxpool", "layer1.0.conv1", "layer2.0.downsample.0",
                           "layer2.0.downsample.1", "layer4.1.bn2", "avgpool", "fc"})
    EXPECT_TRUE(has_layer(r18, name)) << name;
  EXPECT_FALSE(has_layer(r18, "layer1.0.downsample.0"));  // same shape: identity shortcut
  Model mb = build_zoo_model({.name = "mobilenet_v2", .input = {3, 32, 32}});
  for (const char* name :
       {"features.0.0", "features.1.conv.0.0", "features.1.conv.1", "features.2.conv.1.0",
        "features.3.add", "features.18.0", "classifier.1"})
    EXPECT_TRUE(has_layer(mb, name)) << name;
  Net vgg({.name = "vgg16_bn"});
  for (const char* name : {"features.0", "features.1", "features.2", "features.43", "classifier.6"})
    EXPECT_TRUE(vgg.has_layer(name)) << name;
  Model eff = build_zoo_model({.name = "efficientnet_lite0", .input = {3, 32, 32}});
  for (const char* name : {"conv_stem", "blocks.0.0.conv_dw", "blocks.1.1.add",
                           "blocks.6.0.conv_pwl", "conv_head", "classifier"})
    EXPECT_TRUE(has_layer(eff, name)) << name;
  // The depthwise convs are grouped: blocks.1.0.conv_dw is 96 filters of 1 input channel.
  EXPECT_EQ(eff.parameter("blocks.1.0.conv_dw.weight").shape(), Shape({96, 1, 3, 3}));
}

TEST(ZooTest, VggImagenetClassifierNeedsASevenBySevenMap) {
  // 448 leaves 14x14: a 2x2 average pool (what AdaptiveAvgPool2d(7) computes) keeps 512*7*7.
  Net big({.name = "vgg11_bn", .input = {3, 448, 448}});
  EXPECT_TRUE(big.has_layer("avgpool"));
  EXPECT_EQ(big.parameter_shape("classifier.0.weight"), Shape({4096, 25088}));
  EXPECT_EQ(big.parameter_count(), 132'868'840);                 // as at 224
  EXPECT_FALSE(Net({.name = "vgg11_bn"}).has_layer("avgpool"));  // 7x7 already
  const auto e = error_of<ZooOptionError>([] {
    build_zoo_model({.name = "vgg11_bn", .num_classes = 10, .input = {3, 32, 32}});
  });
  expect_contains(e, "leaves 1x1: use classifier 'global_pool'");
}

TEST(ZooTest, ZeroInitResidualZeroesEachBlocksLastGamma) {
  Model m = build_zoo_model(
      {.name = "resnet20", .num_classes = 10, .input = {3, 32, 32}, .zero_init_residual = true});
  m.initialize(3);
  for (float v : testing::values(m.parameter("layer2.0.bn2.gamma"))) EXPECT_EQ(v, 0.0f);
  for (float v : testing::values(m.parameter("layer2.0.bn1.gamma"))) EXPECT_EQ(v, 1.0f);
  for (float v : testing::values(m.parameter("layer2.0.downsample.1.gamma"))) EXPECT_EQ(v, 1.0f);
}

TEST(ZooTest, BadOptionsNameTheOptionAndTheValidValues) {
  auto option_error = [](const ZooOptions& o) {
    try {
      build_zoo_model(o);
    } catch (const ZooOptionError& e) {
      return e.option() + ": " + e.what();
    }
    return std::string("(no error)");
  };
  const auto unknown = option_error({.name = "resnet19"});
  expect_contains(unknown, "name: unknown zoo model 'resnet19' (known: resnet18, resnet34, ");
  expect_contains(unknown, "mobilenet_v2, efficientnet_lite0)");
  expect_contains(option_error({.name = "resnet18", .stem = "tiny"}),
                  "stem: zoo model resnet18: option 'stem' must be imagenet or cifar, got 'tiny'");
  expect_contains(option_error({.name = "resnet20", .stem = "imagenet"}),
                  "option 'stem' must be cifar, got 'imagenet'");
  expect_contains(option_error({.name = "vgg16_bn", .stem = "cifar"}),
                  "stem: zoo model vgg16_bn: option 'stem' does not apply to it");
  expect_contains(option_error({.name = "resnet18", .classifier = "global_pool"}),
                  "classifier: zoo model resnet18: option 'classifier' does not apply to it");
  expect_contains(option_error({.name = "vgg11_bn", .classifier = "gap"}),
                  "option 'classifier' must be imagenet or global_pool, got 'gap'");
  expect_contains(option_error({.name = "mobilenet_v2", .zero_init_residual = true}),
                  "zero_init_residual: zoo model mobilenet_v2: option 'zero_init_residual' applies "
                  "to the ResNets only");
  expect_contains(option_error({.name = "resnet20", .num_classes = 0}),
                  "num_classes: zoo model resnet20: option 'num_classes' must be >= 1, got 0");
  EXPECT_EQ(zoo_names().size(), 10u);
}

// One training step at batch 2: the loss is finite, every parameter gradient is finite, and SGD
// moves the first convolution.
struct StepCase {
  ZooOptions options;
  const char* first_weight;
};

class ZooTrainingStep : public ::testing::TestWithParam<StepCase> {};

TEST_P(ZooTrainingStep, TrainsOneStep) {
  const StepCase& c = GetParam();
  Model m = build_zoo_model(c.options);
  m.initialize(11);
  Plan plan = m.compile_training({.batch = 2});
  Tensor x = plan.input();
  fill_uniform(x.data<float>(), x.numel(), 5, -1.0f, 1.0f);
  plan.labels().data<std::int32_t>()[0] = 1;
  plan.labels().data<std::int32_t>()[1] = 3;
  const std::vector<float> before = testing::values(m.parameter(c.first_weight));
  plan.forward();
  EXPECT_TRUE(std::isfinite(plan.loss()));
  EXPECT_GT(plan.loss(), 0.0f);
  plan.backward();
  const ParamBlock block = plan.parameter_block();
  for (float g : std::span<const float>(block.grads, std::size_t(block.numel)))
    ASSERT_TRUE(std::isfinite(g));
  optim::make_sgd({.lr = 0.01})->step(block);
  EXPECT_NE(testing::values(m.parameter(c.first_weight)), before);
}

// clang-format off
INSTANTIATE_TEST_SUITE_P(Zoo, ZooTrainingStep, ::testing::Values(
    StepCase{{.name = "resnet18", .num_classes = 10, .input = {3, 32, 32}, .stem = "cifar"}, "conv1.weight"},
    StepCase{{.name = "resnet34", .num_classes = 10, .input = {3, 32, 32}, .stem = "cifar"}, "conv1.weight"},
    StepCase{{.name = "resnet18", .num_classes = 10, .input = {3, 64, 64}, .stem = "imagenet",
              .zero_init_residual = true}, "conv1.weight"},
    StepCase{{.name = "resnet20", .num_classes = 10, .input = {3, 32, 32}}, "conv1.weight"},
    StepCase{{.name = "resnet56", .num_classes = 10, .input = {3, 32, 32}}, "conv1.weight"},
    StepCase{{.name = "vgg11_bn", .num_classes = 10, .input = {3, 32, 32}, .classifier = "global_pool"}, "features.0.weight"},
    StepCase{{.name = "vgg16_bn", .num_classes = 10, .input = {3, 32, 32}, .classifier = "global_pool"}, "features.0.weight"},
    StepCase{{.name = "mobilenet_v2", .num_classes = 10, .input = {3, 32, 32}}, "features.0.0.weight"},
    StepCase{{.name = "efficientnet_lite0", .num_classes = 10, .input = {3, 32, 32}}, "conv_stem.weight"}),
    [](const ::testing::TestParamInfo<StepCase>& info) {
      return info.param.options.name + "_" + std::to_string(info.param.options.input[1]);
    });
// clang-format on

}  // namespace
}  // namespace convkit::nn
