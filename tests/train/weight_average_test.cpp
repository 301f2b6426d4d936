// WeightAverage: the warm-up decay, the EMA update against a hand computation, swap, and the
// errors for a bad decay or a block of another size.
#include <convkit/train/weight_average.h>
#include <convkit/util/error.h>

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace convkit::train {
namespace {

TEST(WeightAverageTest, DecayWarmsUpThenStaysAtTheConfiguredValue) {
  WeightAverage avg(0.99);
  EXPECT_DOUBLE_EQ(avg.decay_at(1), 2.0 / 11.0);
  EXPECT_DOUBLE_EQ(avg.decay_at(10), 11.0 / 20.0);
  EXPECT_DOUBLE_EQ(avg.decay_at(1000), 0.99);
  EXPECT_FALSE(WeightAverage(0).enabled());
  EXPECT_TRUE(avg.enabled());
}

TEST(WeightAverageTest, UpdateIsTheExponentialMovingAverage) {
  WeightAverage avg(0.5);
  std::vector<float> w{1.0f, -2.0f, 4.0f};
  avg.update(w.data(), 3, 0);  // first call starts the average from w
  std::vector<double> expect{1.0, -2.0, 4.0};
  for (std::int64_t step = 1; step <= 20; ++step) {
    for (auto& x : w) x = x * 0.9f + 0.25f;
    const double d = std::min(0.5, (1.0 + double(step)) / (10.0 + double(step)));
    for (std::size_t i = 0; i < w.size(); ++i) expect[i] = d * expect[i] + (1 - d) * w[i];
    avg.update(w.data(), 3, step);
  }
  for (std::size_t i = 0; i < w.size(); ++i)
    EXPECT_NEAR(avg.average().data<float>()[i], expect[i], 1e-5) << i;
}

TEST(WeightAverageTest, SwapExchangesAndSwappingTwiceRestores) {
  WeightAverage avg(0.9);
  std::vector<float> w{1.0f, 2.0f};
  avg.reset(w.data(), 2);
  w = {5.0f, 6.0f};
  avg.swap(w.data(), 2);
  EXPECT_EQ(w, (std::vector<float>{1.0f, 2.0f}));
  EXPECT_EQ(avg.average().data<float>()[0], 5.0f);
  avg.swap(w.data(), 2);
  EXPECT_EQ(w, (std::vector<float>{5.0f, 6.0f}));
}

TEST(WeightAverageTest, DisabledAverageDoesNothing) {
  WeightAverage avg(0);
  std::vector<float> w{1.0f};
  avg.update(w.data(), 1, 1);
  avg.swap(w.data(), 1);
  EXPECT_FALSE(avg.average().defined());
  EXPECT_EQ(w[0], 1.0f);
}

TEST(WeightAverageTest, BadDecayAndSizeMismatchAreErrors) {
  for (double d : {-0.1, 1.0, 1.5}) {
    try {
      WeightAverage bad(d);
      ADD_FAILURE() << d;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("[0, 1)"), std::string::npos) << e.what();
    }
  }
  WeightAverage avg(0.9);
  std::vector<float> w(4, 1.0f);
  avg.reset(w.data(), 4);
  EXPECT_THROW(avg.update(w.data(), 3, 1), Error);
  EXPECT_THROW(avg.swap(w.data(), 3), Error);
}

}  // namespace
}  // namespace convkit::train
