// Dropout: identity in Infer mode; in Train mode the drop rate, the 1/(1-rate) scale, the mask's
// agreement with Dropout::keep, its determinism (same key/step, any thread count), spatial
// channel drops, and backward = mask * scale.
#include "ops/dropout.h"

#include "ops/registry.h"
#include "support/gradcheck.h"

#include <convkit/util/rng.h>

#include <gtest/gtest.h>
#include <omp.h>

#include <cstring>

namespace convkit::ops {
namespace {

using testing::random_uniform;

constexpr std::uint64_t kKey = 7;  // the key testing::run_forward uses by default

Tensor train_forward(const Dropout& op, const Tensor& x, std::uint64_t step,
                     std::uint64_t key = kKey) {
  return testing::run_forward(op, {x}, {}, Mode::Train, key, step)[0];
}

bool same_bits(const Tensor& a, const Tensor& b) {
  return a.nbytes() == b.nbytes() && std::memcmp(a.raw(), b.raw(), a.nbytes()) == 0;
}

double fraction_zero(const Tensor& y) {
  std::int64_t zeros = 0;
  for (std::int64_t i = 0; i < y.numel(); ++i) zeros += y.data<float>()[i] == 0.0f;
  return double(zeros) / double(y.numel());
}

TEST(DropoutTest, InferModeIsIdentity) {
  Dropout op({.rate = 0.5});
  Tensor x = testing::random_normal({4, 3, 5, 5}, 1);
  EXPECT_TRUE(same_bits(testing::run_forward(op, {x}, {}, Mode::Infer)[0], x));
}

TEST(DropoutTest, TrainDropsAboutRateAndScalesTheRest) {
  for (double rate : {0.1, 0.3, 0.75}) {
    Dropout op({.rate = rate});
    Tensor x = random_uniform({64, 1000}, 2, 1.0f, 2.0f);  // never 0: a 0 output means dropped
    Tensor y = train_forward(op, x, 3);
    // 64000 Bernoulli draws: the standard deviation of the fraction is below 0.002.
    EXPECT_NEAR(fraction_zero(y), rate, 0.01) << "rate " << rate;
    const float scale = float(1.0 / (1.0 - rate));
    for (std::int64_t i = 0; i < x.numel(); ++i) {
      const float yi = y.data<float>()[i];
      if (yi != 0.0f) {
        ASSERT_FLOAT_EQ(yi, x.data<float>()[i] * scale) << "element " << i;
      }
    }
  }
}

TEST(DropoutTest, MaskIsDropoutKeepOfEachElement) {
  // An odd shape, so the last Philox block is partly used.
  Dropout op({.rate = 0.4});
  Tensor x = Tensor::full({3, 7, 5}, 1.0f);
  for (std::uint64_t step : {0u, 1u, 12345u}) {
    Tensor y = train_forward(op, x, step, 99);
    for (std::int64_t i = 0; i < x.numel(); ++i)
      ASSERT_EQ(y.data<float>()[i] != 0.0f, Dropout::keep(99, step, i, 0.4)) << "element " << i;
  }
}

TEST(DropoutTest, KeepFollowsThePhiloxWordOfEachUnit) {
  // keep(unit) = uniform01(philox(key, unit / 4, step)[unit % 4]) >= rate.
  for (std::int64_t unit : {0, 1, 2, 3, 4, 5, 1001, 4096}) {
    const auto r = philox(42, std::uint64_t(unit) / 4, 9);
    const float u = uniform01(r[unit % 4]);
    EXPECT_EQ(Dropout::keep(42, 9, unit, 0.5), u >= 0.5f) << unit;
    EXPECT_EQ(Dropout::keep(42, 9, unit, double(u)), true) << unit;  // u >= u
    EXPECT_EQ(Dropout::keep(42, 9, unit, std::nextafter(double(u), 1.0)), false) << unit;
  }
}

TEST(DropoutTest, SameKeyAndStepGiveTheSameMaskOthersDiffer) {
  Dropout op({.rate = 0.5});
  Tensor x = random_uniform({16, 512}, 3, 1.0f, 2.0f);
  Tensor a = train_forward(op, x, 5), b = train_forward(op, x, 5);
  EXPECT_TRUE(same_bits(a, b));
  auto differing = [&](const Tensor& c) {
    std::int64_t n = 0;
    for (std::int64_t i = 0; i < x.numel(); ++i)
      n += (a.data<float>()[i] == 0) != (c.data<float>()[i] == 0);
    return double(n) / double(x.numel());
  };
  // Independent masks at rate 0.5 disagree on about half the elements.
  EXPECT_NEAR(differing(train_forward(op, x, 6)), 0.5, 0.05);
  EXPECT_NEAR(differing(train_forward(op, x, 5, kKey + 1)), 0.5, 0.05);
}

TEST(DropoutTest, MaskDoesNotDependOnThreadCount) {
  for (bool spatial : {false, true}) {
    Dropout op({.rate = 0.3, .spatial = spatial});
    Tensor x = random_uniform({32, 16, 16, 16}, 4, -1.0f, 1.0f);  // above the threading threshold
    const int threads = omp_get_max_threads();
    omp_set_num_threads(1);
    Tensor one = train_forward(op, x, 8);
    omp_set_num_threads(2);
    Tensor two = train_forward(op, x, 8);
    omp_set_num_threads(threads);
    EXPECT_TRUE(same_bits(one, two)) << "spatial " << spatial;
  }
}

TEST(DropoutTest, SpatialDropsWholeChannels) {
  const std::int64_t n = 4, c = 8, hw = 25;
  Dropout op({.rate = 0.5, .spatial = true});
  Tensor x = random_uniform({n, c, 5, 5}, 5, 1.0f, 2.0f);
  Tensor y = train_forward(op, x, 2);
  int kept = 0;
  for (std::int64_t unit = 0; unit < n * c; ++unit) {
    const bool keep = Dropout::keep(kKey, 2, unit, 0.5);  // unit = n*C + c
    kept += keep;
    for (std::int64_t k = 0; k < hw; ++k) {
      const std::int64_t i = unit * hw + k;
      ASSERT_FLOAT_EQ(y.data<float>()[i], keep ? x.data<float>()[i] * 2.0f : 0.0f)
          << "element " << i;
    }
  }
  EXPECT_GT(kept, 0);
  EXPECT_LT(kept, n * c);
}

TEST(DropoutTest, GradientIsMaskTimesScale) {
  for (bool spatial : {false, true}) {
    Dropout op({.rate = 0.25, .spatial = spatial});
    Tensor x = Tensor::full({3, 6, 4, 4}, 1.0f);
    Tensor y = train_forward(op, x, 11);  // y = mask * scale
    std::vector<Tensor> dys{testing::random_normal(x.shape(), 6)},
        dxs{Tensor::full(x.shape(), NAN)};
    BackwardCall call{.grad_outputs = dys, .grad_inputs = dxs, .rng_key = kKey, .step = 11};
    op.backward(call);
    for (std::int64_t i = 0; i < x.numel(); ++i)
      ASSERT_FLOAT_EQ(dxs[0].data<float>()[i], dys[0].data<float>()[i] * y.data<float>()[i]) << i;
    testing::expect_gradients_match(op, {testing::random_normal(x.shape(), 7)}, {});
  }
}

TEST(DropoutTest, RateZeroIsIdentityInTraining) {
  Dropout op({.rate = 0.0});
  Tensor x = testing::random_normal({5, 9}, 8);
  EXPECT_TRUE(same_bits(train_forward(op, x, 1), x));
}

TEST(DropoutTest, RateOutsideZeroOneIsRejected) {
  for (double rate : {1.0, -0.1, 1.5}) {
    try {
      Dropout op({.rate = rate});
      FAIL() << "expected Error for rate " << rate;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("[0, 1)"), std::string::npos) << e.what();
    }
  }
  EXPECT_THROW(make_op("Dropout", {{"rate", 1.0}}), Error);
}

TEST(DropoutTest, FactoryAndAttrsRoundTrip) {
  auto op = make_op("Dropout", {{"rate", 0.2}, {"spatial", true}});
  const auto& d = dynamic_cast<const Dropout&>(*op);
  EXPECT_DOUBLE_EQ(d.dropout_attrs().rate, 0.2);
  EXPECT_TRUE(d.dropout_attrs().spatial);
  EXPECT_EQ(op->attrs().str(), "rate=0.2, spatial=true");
  EXPECT_DOUBLE_EQ(dynamic_cast<const Dropout&>(*make_op("Dropout", {})).dropout_attrs().rate, 0.5);
  std::vector<TensorSpec> flat{{Shape{8}}};
  EXPECT_THROW(Dropout({.spatial = true}).infer(flat), ShapeError);
  EXPECT_EQ(Dropout({}).infer(flat)[0], flat[0]);
}

}  // namespace
}  // namespace convkit::ops
