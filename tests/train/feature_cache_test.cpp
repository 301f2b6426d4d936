// Feature caching (FitOptions::frozen_base): training a head on the cached outputs of a frozen
// base gives the weights, losses and optimizer state of training the whole model with the base
// frozen, and after the first epoch no image passes through the base again.
#include <convkit/data/source.h>
#include <convkit/optim/optimizer.h>
#include <convkit/train/trainer.h>

#include <gtest/gtest.h>

#include "support/counting_source.h"

#include <cmath>
#include <memory>

namespace convkit {
namespace {

data::Dataset toy(std::int64_t n) {
  data::Dataset d;
  d.images = Tensor::empty({n, 3, 8, 8}, DType::u8);
  d.labels = Tensor::empty({n}, DType::i32);
  for (std::int64_t i = 0; i < d.images.numel(); ++i)
    d.images.data<std::uint8_t>()[i] = std::uint8_t((i * 97 + (i / 192) * 31) % 256);
  for (std::int64_t i = 0; i < n; ++i) d.labels.data<std::int32_t>()[i] = std::int32_t(i % 3);
  d.num_classes = 3;
  return d;
}

// base: conv -> relu -> global pool -> flatten ([8]); head: dense 6 -> relu -> dense 3.
nn::Value base_of(const nn::Value& x) {
  nn::Value y = nn::Conv2D{
      .filters = 8, .kernel = 3, .activation = nn::Activation::ReLU, .name = "base_conv"}(x);
  y = nn::GlobalAvgPool2D{.name = "base_pool"}(y);
  return y;
}
nn::Value head_of(const nn::Value& f) {
  nn::Value y = nn::Dense{.units = 6, .activation = nn::Activation::ReLU, .name = "h1"}(f);
  return nn::Dense{.units = 3, .name = "h2"}(y);
}

struct Trained {
  std::vector<double> losses;
  std::vector<float> weights;  // the whole model's
  std::vector<float> exp_avg;  // Adam's first moment over the whole block
  int images_read = 0;
};

Trained train(bool cached) {
  auto in = nn::Input({3, 8, 8});
  nn::Model model(in, head_of(base_of(in)));
  model.initialize(5);
  model.set_trainable("base_*", false);
  train::FitOptions fit{.epochs = 3, .batch_size = 8, .seed = 1, .progress = false};
  if (cached) {
    auto bin = nn::Input({3, 8, 8});
    nn::Model base(bin, base_of(bin));
    base.initialize(0);
    for (const auto& name : base.parameter_names())
      base.parameter(name).copy_from(model.parameter(name));
    auto fin = nn::Input({8});
    nn::Model head(fin, head_of(fin));
    head.initialize(0);  // overwritten from the full model by fit()
    fit.frozen_base = std::make_shared<train::FrozenBase>(train::FrozenBase{base, head});
  }
  auto adam = optim::make_optimizer("adam", {{"lr", 0.01}});
  fit.geometry = data::Geometry{.channels = 3, .height = 8, .width = 8};
  auto source =
      std::make_shared<test::CountingSource>(std::make_shared<data::DatasetSource>(toy(42)));
  train::Trainer trainer(model, *adam, fit);
  trainer.fit(source, nullptr);
  Trained r;
  r.images_read = source->reads;
  for (const auto& e : trainer.history().epochs) r.losses.push_back(e.loss);
  const auto block = model.parameter_block();
  r.weights.assign(block.params, block.params + block.numel);
  for (const auto& [name, t] : adam->state())
    if (name == "exp_avg") r.exp_avg.assign(t.data<float>(), t.data<float>() + t.numel());
  return r;
}

TEST(FeatureCacheTest, SameTrainingAsTheWholeModelWithAFrozenBase) {
  const Trained plain = train(false), cached = train(true);
  ASSERT_EQ(plain.losses.size(), 3u);
  ASSERT_EQ(cached.losses.size(), 3u);
  for (int e = 0; e < 3; ++e) EXPECT_NEAR(cached.losses[e], plain.losses[e], 1e-5) << e;
  ASSERT_EQ(cached.weights.size(), plain.weights.size());
  double worst = 0;
  for (std::size_t k = 0; k < plain.weights.size(); ++k)
    worst = std::max(worst, double(std::abs(cached.weights[k] - plain.weights[k])));
  EXPECT_LT(worst, 1e-5);
  ASSERT_EQ(cached.exp_avg.size(), plain.exp_avg.size());  // the whole model's optimizer state
  EXPECT_NE(plain.weights[0], 0.0f);
  EXPECT_EQ(plain.images_read, 3 * 40);  // 5 batches of 8 an epoch (the last 2 dropped)
  EXPECT_EQ(cached.images_read, 42);     // the first epoch, then the 2 it left out
}

}  // namespace
}  // namespace convkit
