// Reproducibility of the augmenter: a batch is a pure function of (seed, epoch, batch index,
// sample index) — identical across runs and OpenMP thread counts, different across epochs,
// batches and seeds — and the Loader hook built by make_augmenter follows the same rule.
#include <convkit/data/augment.h>
#include <convkit/util/rng.h>

#include <gtest/gtest.h>

#include "data/data_test_util.h"

#include <cstring>

namespace convkit::data {
namespace {

AugmentOptions everything() {
  return {.rotation = 20,
          .width_shift = 0.1f,
          .height_shift = 0.1f,
          .shear = 10,
          .zoom = {0.8f, 1.2f},
          .fill_mode = FillMode::Reflect,
          .horizontal_flip = 0.5f,
          .vertical_flip = 0.5f,
          .brightness = {0.7f, 1.3f},
          .contrast = {0.7f, 1.3f},
          .crop_padding = 2,
          .cutout = {.size = {2, 4}, .probability = 0.5f, .fill_value = 0},
          .elastic = {.alpha = 8, .sigma = 2, .probability = 0.7f}};
}

Tensor random_batch(std::int64_t b, std::int64_t c, std::int64_t h, std::int64_t w) {
  Tensor t = Tensor::empty({b, c, h, w});
  fill_uniform(t.data<float>(), t.numel(), 99, -1.0f, 2.0f);
  return t;
}

Tensor augmented(const AugmentOptions& o, std::uint64_t seed, const Tensor& input,
                 std::uint64_t epoch, std::uint64_t batch) {
  Tensor out = input.clone();
  const std::vector<float> mean{0.2f, 0.4f, 0.6f}, std{0.3f, 0.2f, 0.25f};
  Augmenter(o, seed, mean, std).apply(out, epoch, batch);
  return out;
}

bool same_bits(const Tensor& a, const Tensor& b) {
  return a.shape() == b.shape() && std::memcmp(a.raw(), b.raw(), a.nbytes()) == 0;
}

TEST(AugmentDeterminismTest, SameInputsSameBatch) {
  const Tensor x = random_batch(9, 3, 14, 11);
  const Tensor a = augmented(everything(), 1, x, 0, 0), b = augmented(everything(), 1, x, 0, 0);
  EXPECT_TRUE(same_bits(a, b));
  EXPECT_GT(max_abs_diff(a, x), 0.1f);
}

TEST(AugmentDeterminismTest, EpochBatchAndSeedChangeTheDraws) {
  const Tensor x = random_batch(9, 3, 14, 11);
  const Tensor base = augmented(everything(), 1, x, 0, 0);
  EXPECT_GT(max_abs_diff(base, augmented(everything(), 1, x, 1, 0)), 0.1f);
  EXPECT_GT(max_abs_diff(base, augmented(everything(), 1, x, 0, 1)), 0.1f);
  EXPECT_GT(max_abs_diff(base, augmented(everything(), 2, x, 0, 0)), 0.1f);
}

TEST(AugmentDeterminismTest, IdenticalForAnyThreadCount) {
  const Tensor x = random_batch(13, 3, 16, 16);
  AugmentOptions o = everything();
  o.threads = 1;
  const Tensor one = augmented(o, 5, x, 3, 7);
  for (int threads : {2, 3, 4}) {
    o.threads = threads;
    EXPECT_TRUE(same_bits(one, augmented(o, 5, x, 3, 7))) << threads << " threads";
  }
}

TEST(AugmentDeterminismTest, ASampleDependsOnItsPositionNotOnTheBatchSize) {
  // The epoch's last batch is shorter; its samples still get the draws of their positions.
  const Tensor x = random_batch(8, 3, 10, 10);
  const Tensor full = augmented(everything(), 4, x, 2, 3);
  const Tensor head = augmented(everything(), 4, x.slice(0, 5).clone(), 2, 3);
  EXPECT_TRUE(same_bits(head, full.slice(0, 5).clone()));
}

TEST(AugmentDeterminismTest, LoaderHookIsReproducible) {
  Dataset d = testing::synthetic(37, 1, 12, 12);
  const std::vector<float> mean{0.3f}, std{0.3f};
  auto run = [&](const AugmentOptions& o) {
    LoaderOptions opts{.batch_size = 8, .seed = 9, .mean = mean, .std = std};
    opts.augment = make_augmenter(o, 9, mean, std);
    Loader loader(d, opts);
    std::vector<float> all;
    for (std::int64_t epoch = 0; epoch < 2; ++epoch) {
      loader.start_epoch(epoch);
      while (auto b = loader.next())
        all.insert(all.end(), b->images.data<float>(), b->images.data<float>() + b->images.numel());
    }
    return all;
  };
  AugmentOptions o = everything();
  o.cutout.size = {3, 3};
  const auto a = run(o), b = run(o), plain = run({});
  EXPECT_EQ(a, b);
  EXPECT_NE(a, plain);
  EXPECT_EQ(a.size(), plain.size());
}

TEST(AugmentDeterminismTest, OffByDefault) {
  EXPECT_FALSE(augments({}));
  const Tensor x = random_batch(3, 3, 5, 5);
  EXPECT_TRUE(same_bits(augmented({}, 1, x, 0, 0), x));
  EXPECT_TRUE(augments({.rotation = 1}));
  EXPECT_TRUE(augments({.zoom = {1, 1.1f}}));
  EXPECT_FALSE(augments({.mixup = 0.2f, .cutmix = 1}));  // the Mixer's, not the hook's
}

TEST(AugmentDeterminismTest, ValuesStayInThePixelRange) {
  // Brightness and contrast clamp in pixel space; fills are pixel values: every output maps
  // back into [0, 255].
  Dataset d = testing::synthetic(16, 3, 9, 9);
  Tensor x = Tensor::empty({16, 3, 9, 9});
  const std::vector<float> mean{0.2f, 0.4f, 0.6f}, std{0.3f, 0.2f, 0.25f};
  normalize(d.images, x, mean, std);
  AugmentOptions o = everything();
  o.fill_mode = FillMode::Constant;
  o.fill_value = 255;
  o.brightness = {0.2f, 3.0f};
  Augmenter(o, 3, mean, std).apply(x, 0, 0);
  const float* v = x.data<float>();
  for (std::int64_t i = 0; i < x.numel(); ++i) {
    const int k = int(i / 81 % 3);
    const float p = (v[i] * std[k] + mean[k]) * 255.0f;
    ASSERT_GE(p, -1e-3f) << i;
    ASSERT_LE(p, 255.001f) << i;
  }
}

}  // namespace
}  // namespace convkit::data
