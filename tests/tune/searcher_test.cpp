// The searchers: proposals are deterministic in (seed, trial number, history), stay inside the
// space, and TPE finds a better point than random search with the same budget on a known
// function with a continuous, a log, a stepped and a categorical parameter.
#include <convkit/tune/searcher.h>

#include <gtest/gtest.h>

#include <cmath>

namespace convkit::tune {
namespace {

using T = Param::Type;

SearchSpace test_space() {
  SearchSpace s;
  s.add({.name = "x", .key = "k.x", .type = T::Float, .low = -5, .high = 5});
  s.add({.name = "lr", .key = "k.lr", .type = T::Float, .low = 1e-5, .high = 1, .log = true});
  s.add({.name = "units", .key = "k.units", .type = T::Int, .low = 32, .high = 512, .step = 32});
  s.add({.name = "opt", .key = "k.opt", .type = T::Choice, .values = {"a", "b", "c", "d"}});
  return s;
}

// Minimum 0 at x = 1.5, lr = 1e-3, units = 256, opt = c.
double loss_of(const Assignment& a) {
  const double x = a.at("x") - 1.5, l = std::log10(a.at("lr")) + 3, u = (a.at("units") - 256) / 64;
  return x * x + l * l + u * u + (a.at("opt") == 2 ? 0 : 2);
}

double best_after(const SearcherOptions& o, int trials, std::uint64_t seed) {
  const SearchSpace s = test_space();
  std::vector<Observation> done;
  double best = INFINITY;
  for (int n = 0; n < trials; ++n) {
    const Assignment a = propose(s, done, o, seed, n);
    EXPECT_EQ(a.size(), 4u);
    EXPECT_GE(a.at("x"), -5);
    EXPECT_LE(a.at("x"), 5);
    EXPECT_EQ(std::fmod(a.at("units"), 32.0), 0.0);
    done.push_back({a, loss_of(a)});
    best = std::min(best, done.back().loss);
  }
  return best;
}

TEST(TuneSearcher, ProposalsAreDeterministic) {
  const SearchSpace s = test_space();
  std::vector<Observation> done;
  for (int n = 0; n < 15; ++n) {
    const Assignment a = propose(s, done, {.kind = "tpe"}, 7, n);
    EXPECT_EQ(a, propose(s, done, {.kind = "tpe"}, 7, n));
    done.push_back({a, loss_of(a)});
  }
  EXPECT_NE(propose(s, done, {.kind = "tpe"}, 7, 15), propose(s, done, {.kind = "tpe"}, 8, 15));
}

TEST(TuneSearcher, TpeBeatsRandomSearchWithTheSameBudget) {
  double tpe = 0, random = 0;
  int tpe_wins = 0;
  for (std::uint64_t seed = 1; seed <= 10; ++seed) {
    const double t = best_after({.kind = "tpe"}, 60, seed);
    const double r = best_after({.kind = "random"}, 60, seed);
    tpe += t / 10, random += r / 10;
    tpe_wins += t < r;
  }
  EXPECT_LT(tpe, 0.75 * random) << "mean best loss: tpe " << tpe << ", random " << random;
  EXPECT_GE(tpe_wins, 7);
}

}  // namespace
}  // namespace convkit::tune
