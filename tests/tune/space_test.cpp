// The search space: sampling stays on each parameter's grid and range, log ranges spread over
// decades, conditions switch parameters on and off, and each malformed parameter is a
// ConfigError naming it.
#include <convkit/run/errors.h>
#include <convkit/tune/space.h>

#include <gtest/gtest.h>

#include <cmath>
#include <set>

namespace convkit::tune {
namespace {

using T = Param::Type;

std::string error_of(Param p, SearchSpace space = {}) {
  try {
    space.add(std::move(p));
  } catch (const run::ConfigError& e) {
    return e.what();
  }
  return "";
}

TEST(TuneSpace, SamplesStayOnTheGridAndCoverIt) {
  SearchSpace s;
  s.add({.name = "units",
         .key = "model.layers.1.units",
         .type = T::Int,
         .low = 32,
         .high = 512,
         .step = 32});
  s.add({.key = "train.optimizer.lr", .type = T::Choice, .values = {"1e-2", "1e-3", "1e-4"}});
  s.add({.key = "train.optimizer.weight_decay",
         .type = T::Float,
         .low = 1e-6,
         .high = 1e-2,
         .log = true});
  std::mt19937_64 rng(3);
  std::set<double> units, lrs;
  int below_1e4 = 0;
  for (int i = 0; i < 2000; ++i) {
    const Assignment a = s.sample_uniform(rng);
    ASSERT_EQ(a.size(), 3u);
    units.insert(a.at("units"));
    lrs.insert(a.at("lr"));
    const double wd = a.at("weight_decay");
    ASSERT_GE(wd, 1e-6);
    ASSERT_LE(wd, 1e-2);
    below_1e4 += wd < 1e-4;
  }
  EXPECT_EQ(units.size(), 16u);  // 32, 64, ..., 512
  for (double u : units) EXPECT_EQ(std::fmod(u, 32.0), 0.0) << u;
  EXPECT_EQ(lrs, (std::set<double>{0, 1, 2}));
  // Uniform in log space: half the samples below the middle decade (1e-4), not 1%.
  EXPECT_NEAR(below_1e4 / 2000.0, 0.5, 0.05);
  const Assignment a{{"units", 256}, {"lr", 1}, {"weight_decay", 0.001}};
  EXPECT_EQ(s.sets(a),
            (std::vector<std::string>{"model.layers.1.units=256", "train.optimizer.lr=1e-3",
                                      "train.optimizer.weight_decay=0.001"}));
  EXPECT_EQ(s.describe(a), "units=256 lr=1e-3 weight_decay=0.001");
  EXPECT_EQ(s.snap(s.param("units"), 70), 64);
  EXPECT_EQ(s.snap(s.param("units"), 9999), 512);
}

TEST(TuneSpace, ConditionsSwitchParametersOnAndOff) {
  SearchSpace s;
  s.add({.key = "train.optimizer.type", .type = T::Choice, .values = {"sgd", "adam"}});
  s.add({.name = "layers", .key = "x.layers", .type = T::Int, .low = 1, .high = 4});
  s.add({.name = "momentum",
         .key = "train.optimizer.momentum",
         .type = T::Float,
         .low = 0.5,
         .high = 0.99,
         .when = {{.param = "type", .values = {"sgd"}}}});
  s.add({.name = "filters3",
         .key = "x.filters3",
         .type = T::Int,
         .low = 8,
         .high = 64,
         .when = {{.param = "layers", .min = 3}}});
  std::mt19937_64 rng(5);
  int with_momentum = 0, with_filters3 = 0;
  for (int i = 0; i < 500; ++i) {
    const Assignment a = s.sample_uniform(rng);
    EXPECT_EQ(a.count("momentum") == 1, a.at("type") == 0);
    EXPECT_EQ(a.count("filters3") == 1, a.at("layers") >= 3);
    with_momentum += int(a.count("momentum"));
    with_filters3 += int(a.count("filters3"));
  }
  EXPECT_GT(with_momentum, 150);
  EXPECT_GT(with_filters3, 150);
  EXPECT_EQ(s.sets({{"type", 1}, {"layers", 2}}),
            (std::vector<std::string>{"train.optimizer.type=adam", "x.layers=2"}));
}

TEST(TuneSpace, MalformedParametersAreNamedErrors) {
  EXPECT_NE(error_of({.name = "lr", .key = "a.lr", .type = T::Float, .low = 0.1, .high = 0.1})
                .find("parameter 'lr' (a.lr): the range [0.1, 0.1] is empty"),
            std::string::npos);
  EXPECT_NE(error_of({.key = "a.lr", .type = T::Float, .low = 0, .high = 1, .log = true})
                .find("a log range must be above 0, got low 0"),
            std::string::npos);
  EXPECT_NE(error_of({.key = "a.units", .type = T::Int, .low = 1.5, .high = 4}).find("whole"),
            std::string::npos);
  EXPECT_NE(error_of({.key = "a.opt", .type = T::Choice}).find("at least one value"),
            std::string::npos);
  EXPECT_NE(error_of({.key = "a.m",
                      .type = T::Float,
                      .low = 0,
                      .high = 1,
                      .when = {{.param = "optimizer", .values = {"sgd"}}}})
                .find("its condition names 'optimizer', which is no earlier parameter"),
            std::string::npos);
  SearchSpace s;
  s.add({.name = "opt", .key = "a.opt", .type = T::Choice, .values = {"sgd", "adam"}});
  EXPECT_NE(error_of({.key = "a.m",
                      .type = T::Float,
                      .low = 0,
                      .high = 1,
                      .when = {{.param = "opt", .values = {"rmsprop"}}}},
                     s)
                .find("names the value 'rmsprop', which it never takes"),
            std::string::npos);
  EXPECT_NE(error_of({.key = "b.opt", .type = T::Bool}, s).find("two parameters are named 'opt'"),
            std::string::npos);
}

}  // namespace
}  // namespace convkit::tune
