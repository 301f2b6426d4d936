// Mixup and cutmix: partners form a permutation, lambda lies in [0, 1] with Beta(a, a)'s
// moments, mixed pixels are exactly lambda-weighted (mixup) or pasted with lambda equal to the
// kept fraction (cutmix), soft targets sum to 1, and everything is reproducible.
#include <convkit/data/augment.h>
#include <convkit/util/rng.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <numeric>

namespace convkit::data {
namespace {

Tensor random_batch(std::int64_t b, std::int64_t c, std::int64_t h, std::int64_t w,
                    std::uint64_t key = 3) {
  Tensor t = Tensor::empty({b, c, h, w});
  fill_uniform(t.data<float>(), t.numel(), key, -1.0f, 1.0f);
  return t;
}

struct Mixed {
  Tensor x;
  std::vector<int> partner;
  std::vector<float> lambda;
};

Mixed mix(const AugmentOptions& o, const Tensor& input, std::uint64_t epoch = 0,
          std::uint64_t batch = 0, std::uint64_t seed = 1) {
  Mixed m{input.clone(), std::vector<int>(std::size_t(input.dim(0))),
          std::vector<float>(std::size_t(input.dim(0)))};
  Mixer(o, seed).apply(m.x, epoch, batch, m.partner, m.lambda);
  return m;
}

void expect_permutation(const std::vector<int>& p) {
  std::vector<int> sorted = p;
  std::sort(sorted.begin(), sorted.end());
  for (std::size_t i = 0; i < sorted.size(); ++i) EXPECT_EQ(sorted[i], int(i));
}

TEST(MixerTest, MixupIsAConvexCombinationWithThePartner) {
  const Tensor x = random_batch(64, 2, 5, 5);
  const Mixed m = mix({.mixup = 0.4f}, x);
  expect_permutation(m.partner);
  const std::int64_t chw = 50;
  for (std::int64_t i = 0; i < 64; ++i) {
    const float lam = m.lambda[std::size_t(i)];
    ASSERT_GE(lam, 0.0f);
    ASSERT_LE(lam, 1.0f);
    const std::int64_t p = m.partner[std::size_t(i)];
    for (std::int64_t k = 0; k < chw; ++k) {
      const float want =
          lam * x.data<float>()[i * chw + k] + (1 - lam) * x.data<float>()[p * chw + k];
      ASSERT_NEAR(m.x.data<float>()[i * chw + k], want, 1e-6f);
    }
  }
}

TEST(MixerTest, LambdaFollowsBetaMoments) {
  // Beta(a, a): mean 1/2, variance 1 / (4 (2a + 1)). Many batches of 128 samples.
  for (float a : {0.2f, 1.0f, 2.0f}) {
    double sum = 0, sq = 0;
    int n = 0;
    const Tensor x = Tensor::zeros({128, 1, 2, 2});
    for (std::uint64_t b = 0; b < 60; ++b) {
      const Mixed m = mix({.mixup = a}, x, 0, b);
      for (float lam : m.lambda) sum += lam, sq += double(lam) * lam, ++n;
    }
    const double mean = sum / n, var = sq / n - mean * mean, want = 1.0 / (4 * (2 * a + 1));
    EXPECT_NEAR(mean, 0.5, 0.02) << "a = " << a;
    EXPECT_NEAR(var, want, 0.1 * want) << "a = " << a;
  }
}

TEST(MixerTest, CutmixLambdaIsTheKeptFraction) {
  const std::int64_t h = 12, w = 10;
  const Tensor x = random_batch(40, 3, h, w);
  const Mixed m = mix({.cutmix = 1.0f}, x);
  expect_permutation(m.partner);
  int pasted_any = 0;
  for (std::int64_t i = 0; i < 40; ++i) {
    const std::int64_t p = m.partner[std::size_t(i)];
    if (p == i) continue;
    std::int64_t own = 0;
    for (std::int64_t k = 0; k < h * w; ++k) {
      const float v = m.x.data<float>()[i * 3 * h * w + k];
      const bool is_own = v == x.data<float>()[i * 3 * h * w + k];
      ASSERT_TRUE(is_own || v == x.data<float>()[p * 3 * h * w + k]);
      // All channels come from the same source at a pixel.
      for (int c = 1; c < 3; ++c)
        ASSERT_EQ(m.x.data<float>()[(i * 3 + c) * h * w + k],
                  x.data<float>()[((is_own ? i : p) * 3 + c) * h * w + k]);
      own += is_own;
    }
    EXPECT_NEAR(m.lambda[std::size_t(i)], float(own) / float(h * w), 1e-6f) << i;
    pasted_any += own < h * w;
  }
  EXPECT_GT(pasted_any, 20);
}

TEST(MixerTest, BothOnPicksOnePerSample) {
  const Tensor x = random_batch(64, 1, 8, 8);
  const Mixed m = mix({.mixup = 0.5f, .cutmix = 0.5f}, x);
  int cut = 0, blend = 0;
  for (std::int64_t i = 0; i < 64; ++i) {
    const std::int64_t p = m.partner[std::size_t(i)];
    if (p == i) continue;
    bool exact = true;  // cutmix leaves every pixel equal to one of the two sources
    for (std::int64_t k = 0; k < 64; ++k) {
      const float v = m.x.data<float>()[i * 64 + k];
      exact = exact && (v == x.data<float>()[i * 64 + k] || v == x.data<float>()[p * 64 + k]);
    }
    (exact ? cut : blend) += 1;
  }
  EXPECT_GT(cut, 10);
  EXPECT_GT(blend, 10);
}

TEST(MixerTest, ReproducibleAndOffByDefault) {
  const Tensor x = random_batch(16, 1, 6, 6);
  const Mixed a = mix({.mixup = 0.3f, .cutmix = 1}, x, 2, 5),
              b = mix({.mixup = 0.3f, .cutmix = 1}, x, 2, 5);
  EXPECT_EQ(std::memcmp(a.x.raw(), b.x.raw(), a.x.nbytes()), 0);
  EXPECT_EQ(a.partner, b.partner);
  EXPECT_EQ(a.lambda, b.lambda);
  const Mixed c = mix({.mixup = 0.3f, .cutmix = 1}, x, 3, 5);
  EXPECT_NE(a.lambda, c.lambda);
  const Mixed off = mix({}, x);
  EXPECT_FALSE(Mixer({}, 1).enabled());
  EXPECT_EQ(max_abs_diff(off.x, x), 0.0f);
  for (std::size_t i = 0; i < off.partner.size(); ++i) {
    EXPECT_EQ(off.partner[i], int(i));
    EXPECT_EQ(off.lambda[i], 1.0f);
  }
  std::vector<int> short_partner(3);
  std::vector<float> short_lambda(3);
  Tensor y = x.clone();
  EXPECT_THROW(Mixer({.mixup = 1}, 1).apply(y, 0, 0, short_partner, short_lambda), Error);
}

TEST(MixTargetsTest, RowsSumToOne) {
  const Tensor x = random_batch(32, 1, 4, 4);
  const Mixed m = mix({.mixup = 0.4f, .cutmix = 1.0f}, x);
  Tensor labels = Tensor::empty({32}, DType::i32);
  for (int i = 0; i < 32; ++i) labels.data<std::int32_t>()[i] = (i * 7) % 10;
  Tensor soft = Tensor::empty({32, 10});
  mix_targets(labels, m.partner, m.lambda, 10, soft);
  for (int i = 0; i < 32; ++i) {
    const float* row = soft.data<float>() + i * 10;
    EXPECT_NEAR(std::accumulate(row, row + 10, 0.0f), 1.0f, 1e-6f);
    const int y = labels.data<std::int32_t>()[i],
              yp = labels.data<std::int32_t>()[m.partner[std::size_t(i)]];
    if (y != yp) {
      EXPECT_FLOAT_EQ(row[y], m.lambda[std::size_t(i)]);
      EXPECT_FLOAT_EQ(row[yp], 1 - m.lambda[std::size_t(i)]);
    } else {
      EXPECT_FLOAT_EQ(row[y], 1.0f);
    }
  }
  Tensor wrong = Tensor::empty({32, 9});
  EXPECT_THROW(mix_targets(labels, m.partner, m.lambda, 9, wrong), Error);   // label 9 >= 9 classes
  EXPECT_THROW(mix_targets(labels, m.partner, m.lambda, 10, wrong), Error);  // shape
}

}  // namespace
}  // namespace convkit::data
