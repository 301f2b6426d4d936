// Model API: layer options, summary table (parameter counts and FLOPs of known networks),
// deterministic initialization, PyTorch-compatible default init, clear errors.
#include <convkit/nn/model.h>

#include <gtest/gtest.h>

#include <algorithm>

#include <cmath>

namespace convkit::nn {
namespace {

// The classic Keras/PyTorch MNIST CNN: 1,199,882 parameters.
Model mnist_cnn() {
  return sequential({1, 28, 28}, {Conv2D{.filters = 32, .kernel = 3, .activation = Activation::ReLU},
                                  Conv2D{.filters = 64, .kernel = 3, .activation = Activation::ReLU},
                                  MaxPool2D{.pool = 2}, Dropout{.rate = 0.25}, Flatten{},
                                  Dense{.units = 128, .activation = Activation::ReLU}, Dropout{.rate = 0.5},
                                  Dense{.units = 10}});
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
  Model model = sequential({4}, {Dense{.units = 3, .kernel_init = {InitKind::Constant, 0.5f}, .bias_init = {InitKind::Ones}}});
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
  m = message([] { Model model = sequential({4}, {Dense{.units = 2}}); model.set_trainable("nope", false); });
  EXPECT_NE(m.find("nope"), std::string::npos) << m;
}

}  // namespace
}  // namespace convkit::nn
