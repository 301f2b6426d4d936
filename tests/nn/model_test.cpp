// Model API: layer options, summary table (parameter counts and FLOPs of known networks),
// deterministic initialization, PyTorch-compatible default init, clear errors.
#include <convkit/nn/model.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <functional>

#include <cmath>

namespace convkit::nn {
namespace {

// The classic Keras/PyTorch MNIST CNN: 1,199,882 parameters.
Model mnist_cnn() {
  return sequential(
      {1, 28, 28},
      {Conv2D{.filters = 32, .kernel = 3, .activation = Activation::ReLU},
       Conv2D{.filters = 64, .kernel = 3, .activation = Activation::ReLU}, MaxPool2D{.pool = 2},
       Dropout{.rate = 0.25}, Flatten{}, Dense{.units = 128, .activation = Activation::ReLU},
       Dropout{.rate = 0.5}, Dense{.units = 10}});
}

TEST(ModelTest, SummaryOfTheClassicMnistCnn) {
  Model model = mnist_cnn();
  EXPECT_EQ(model.parameter_count(), 1199882);
  // Forward FLOPs per sample: 2*MACs of conv1 (26*26*32*9), conv2 (24*24*64*288), dense
  // (9216*128 + 128*10), plus bias/activation/pool/dropout elementwise work.
  const double macs = 26.0 * 26 * 32 * 9 + 24.0 * 24 * 64 * 288 + 9216.0 * 128 + 128.0 * 10;
  EXPECT_GE(model.flops_per_sample(), 2 * macs);
  EXPECT_LT(model.flops_per_sample(), 2 * macs * 1.05);
  std::string table = model.summary();
  EXPECT_NE(table.find("conv2d (Conv2D)"), std::string::npos) << table;
  EXPECT_NE(table.find("[N, 32, 26, 26]"), std::string::npos) << table;
  EXPECT_NE(table.find("[N, 9216]"), std::string::npos) << table;
  EXPECT_NE(table.find("1,179,776"), std::string::npos) << table;  // dense 9216*128 + 128
  EXPECT_NE(table.find("Total params: 1,199,882"), std::string::npos) << table;
}

TEST(ModelTest, LayerNamesAreUniqueAndAutomatic) {
  Model model = mnist_cnn();
  auto names = model.layer_names();
  EXPECT_EQ(names[0], "conv2d");
  EXPECT_EQ(names[1], "conv2d_act");  // activation option = separate ReLU node, fused at compile
  EXPECT_NE(std::find(names.begin(), names.end(), "conv2d_1"), names.end());
  EXPECT_NE(std::find(names.begin(), names.end(), "dense_1"), names.end());
}

TEST(ModelTest, InitializationIsDeterministicPerSeed) {
  Model a = mnist_cnn(), b = mnist_cnn();
  a.initialize(7);
  b.initialize(7);
  EXPECT_EQ(max_abs_diff(a.parameter("dense.weight"), b.parameter("dense.weight")), 0.0f);
  b.initialize(8);
  EXPECT_GT(max_abs_diff(a.parameter("dense.weight"), b.parameter("dense.weight")), 0.01f);
}

TEST(ModelTest, DefaultInitMatchesPyTorchBounds) {
  Model model = mnist_cnn();
  model.initialize(3);
  // nn.Conv2d(32, 64, 3): U(-1/sqrt(288), 1/sqrt(288)); variance bound^2/3.
  Tensor w = model.parameter("conv2d_1.weight");
  const float bound = 1.0f / std::sqrt(288.0f);
  double sum_sq = 0;
  for (std::int64_t i = 0; i < w.numel(); ++i) {
    float v = w.data<float>()[i];
    ASSERT_LE(std::fabs(v), bound);
    sum_sq += double(v) * v;
  }
  EXPECT_NEAR(sum_sq / double(w.numel()), bound * bound / 3.0, 0.05 * bound * bound / 3.0);
}

TEST(ModelTest, InitOverridesApply) {
  Model model = sequential({4}, {Dense{.units = 3,
                                       .kernel_init = {InitKind::Constant, 0.5f},
                                       .bias_init = {InitKind::Ones}}});
  model.initialize(1);
  EXPECT_EQ(model.parameter("dense.weight").data<float>()[5], 0.5f);
  EXPECT_EQ(model.parameter("dense.bias").data<float>()[2], 1.0f);
}

TEST(ModelTest, BadOptionsAndShapesAreClearErrors) {
  auto message = [](auto&& build) {
    try {
      build();
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  std::string m = message([] { sequential({1, 28, 28}, {Dense{.units = 10}}); });
  EXPECT_NE(m.find("dense"), std::string::npos) << m;
  EXPECT_NE(m.find("[1, 1, 28, 28]"), std::string::npos) << m;
  m = message([] { sequential({1, 28, 28}, {Conv2D{.filters = 0}}); });
  EXPECT_NE(m.find("filters"), std::string::npos) << m;
  m = message([] { sequential({3, 4, 4}, {Conv2D{.filters = 8, .kernel = 5}}); });
  EXPECT_NE(m.find("conv2d"), std::string::npos) << m;
  m = message([] {
    Model model = sequential({4}, {Dense{.units = 2}});
    model.set_trainable("nope", false);
  });
  EXPECT_NE(m.find("nope"), std::string::npos) << m;
}

// Parameter groups for fine-tuning: layers picked by name or glob, their trainable flag and
// learning-rate multiplier carried into the parameter block's slots (what optimizers read).
TEST(ModelTest, ParameterGroupsSetTrainableAndLrMultiplierBySlot) {
  Model model = sequential({1, 8, 8}, {Conv2D{.filters = 2, .kernel = 3, .name = "block1_conv"},
                                       BatchNorm{.name = "block1_bn"},
                                       Conv2D{.filters = 2, .kernel = 3, .name = "block2_conv"},
                                       Flatten{}, Dense{.units = 3, .name = "head"}});
  Plan plan = model.compile_training({.batch = 2});  // compiled before: shares the slots
  model.set_lr_multiplier("block1_*", 0.1);
  model.set_lr_multiplier("head", 2.0);
  model.set_trainable("block?_conv", false);
  model.set_trainable("block2_conv", true);
  EXPECT_EQ(model.lr_multiplier("block1_conv"), 0.1);
  EXPECT_EQ(model.lr_multiplier("block1_bn"), 0.1);
  EXPECT_EQ(model.lr_multiplier("block2_conv"), 1.0);
  EXPECT_EQ(model.lr_multiplier("head"), 2.0);
  EXPECT_FALSE(model.trainable("block1_conv"));
  EXPECT_TRUE(model.trainable("block2_conv"));
  for (const ParamSlot& slot : plan.parameter_block().slots) {
    const double want = slot.name.starts_with("block1_") ? 0.1
                        : slot.name.starts_with("head")  ? 2.0
                                                         : 1.0;
    EXPECT_EQ(slot.lr_multiplier, want) << slot.name;
    if (slot.name.starts_with("block1_conv")) EXPECT_FALSE(slot.trainable) << slot.name;
    if (slot.name.starts_with("block2_conv") || slot.name.starts_with("head"))
      EXPECT_TRUE(slot.trainable) << slot.name;
  }
  // Copies keep the groups (they are model state, saved in the model spec with the layer).
  Model copy = model;
  EXPECT_EQ(copy.lr_multiplier("block1_bn"), 0.1);
  EXPECT_EQ(copy.parameter_block().slots.front().lr_multiplier, 0.1);
  EXPECT_FALSE(copy.trainable("block1_conv"));
  model.set_lr_multiplier("*", 1.0);
  for (const ParamSlot& slot : model.parameter_block().slots)
    EXPECT_EQ(slot.lr_multiplier, 1.0) << slot.name;
  EXPECT_EQ(copy.lr_multiplier("head"), 2.0);  // copies share nothing mutable
}

TEST(ModelTest, ParameterGroupErrorsNameTheLayersAndTheValue) {
  auto message = [](const std::function<void()>& fn) {
    try {
      fn();
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  Model model = sequential({4}, {Dense{.units = 2, .name = "fc"}});
  std::string m = message([&] { model.set_lr_multiplier("conv*", 0.5); });
  EXPECT_NE(m.find("conv*"), std::string::npos) << m;
  m = message([&] { model.set_lr_multiplier("nope", 0.5); });
  EXPECT_NE(m.find("nope"), std::string::npos) << m;
  m = message([&] { model.set_lr_multiplier("fc", -1.0); });
  EXPECT_NE(m.find("fc"), std::string::npos) << m;
  EXPECT_NE(m.find("-1"), std::string::npos) << m;
  m = message([&] { model.set_trainable("x?", false); });
  EXPECT_NE(m.find("x?"), std::string::npos) << m;
  m = message([&] { (void)model.lr_multiplier("nope"); });
  EXPECT_NE(m.find("nope"), std::string::npos) << m;
  EXPECT_EQ(model.lr_multiplier("fc"), 1.0);  // a failed call changes nothing
}

}  // namespace
}  // namespace convkit::nn
