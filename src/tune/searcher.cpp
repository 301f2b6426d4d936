// Random and TPE proposals (see include/convkit/tune/searcher.h). TPE works per parameter in the
// parameter's own space (log for log ranges), with truncated-normal Parzen components whose widths
// follow the distance to their neighbours, and a prior component over the whole range.
#include <convkit/tune/searcher.h>

#include <algorithm>
#include <cmath>
#include <numbers>

namespace convkit::tune {

namespace {

std::mt19937_64 rng_for(std::uint64_t seed, int trial_number) {
  std::seed_seq seq{std::uint32_t(seed), std::uint32_t(seed >> 32), std::uint32_t(trial_number),
                    0x7475u};
  return std::mt19937_64(seq);
}

double normal_cdf(double x) {
  return 0.5 * std::erfc(-x / std::numbers::sqrt2);
}

// A mixture of normals truncated to [lo, hi], equal weights.
struct Parzen {
  std::vector<double> mu, sigma, mass;  // mass: each component's probability inside [lo, hi]
  double lo = 0, hi = 1;

  Parzen(std::vector<double> points, double lo_, double hi_) : lo(lo_), hi(hi_) {
    std::sort(points.begin(), points.end());
    const double range = hi - lo;
    const double min_sigma = range / std::min(100.0, 1.0 + double(points.size()));
    for (std::size_t i = 0; i < points.size(); ++i) {
      const double left = points[i] - (i == 0 ? lo : points[i - 1]);
      const double right = (i + 1 == points.size() ? hi : points[i + 1]) - points[i];
      mu.push_back(points[i]);
      sigma.push_back(std::clamp(std::max(left, right), min_sigma, range));
    }
    mu.push_back(0.5 * (lo + hi));  // the prior: wide over the whole range
    sigma.push_back(range);
    for (std::size_t i = 0; i < mu.size(); ++i)
      mass.push_back(std::max(
          1e-12, normal_cdf((hi - mu[i]) / sigma[i]) - normal_cdf((lo - mu[i]) / sigma[i])));
  }
  double density(double x) const {
    double sum = 0;
    for (std::size_t i = 0; i < mu.size(); ++i) {
      const double z = (x - mu[i]) / sigma[i];
      sum += std::exp(-0.5 * z * z) / (sigma[i] * std::sqrt(2 * std::numbers::pi) * mass[i]);
    }
    return sum / double(mu.size());
  }
  double sample(std::mt19937_64& rng) const {
    const std::size_t k = std::uniform_int_distribution<std::size_t>(0, mu.size() - 1)(rng);
    std::normal_distribution<double> n(mu[k], sigma[k]);
    for (int attempt = 0; attempt < 100; ++attempt)
      if (const double x = n(rng); x >= lo && x <= hi) return x;
    return std::clamp(mu[k], lo, hi);
  }
};

// Category probabilities from counts with a uniform prior of total weight 1.
std::vector<double> category_probabilities(const std::vector<double>& values, std::size_t k) {
  std::vector<double> p(k, 1.0 / double(k));
  for (double v : values) p[std::size_t(v)] += 1.0;
  for (double& x : p) x /= double(values.size()) + 1.0;
  return p;
}

double to_model(const Param& p, double v) {
  return p.log ? std::log(v) : v;
}
double from_model(const Param& p, double x) {
  return p.log ? std::exp(x) : x;
}

double propose_one(const SearchSpace& space, const Param& p, const std::vector<double>& good,
                   const std::vector<double>& bad, const SearcherOptions& o, std::mt19937_64& rng) {
  if (good.empty() || bad.empty()) return space.sample_uniform(p, rng);
  if (p.options() > 0) {
    const auto l = category_probabilities(good, p.options());
    const auto g = category_probabilities(bad, p.options());
    std::discrete_distribution<std::size_t> draw(l.begin(), l.end());
    double best = 0, best_score = -INFINITY;
    for (int c = 0; c < o.candidates; ++c) {
      const std::size_t k = draw(rng);
      if (const double score = std::log(l[k]) - std::log(g[k]); score > best_score)
        best_score = score, best = double(k);
    }
    return best;
  }
  // Stepped ranges widen by half a step so the end points are as likely as the inner ones.
  const double half = p.step > 0 && !p.log ? 0.5 * p.step : 0.0;
  const double lo = to_model(p, p.low) - half, hi = to_model(p, p.high) + half;
  std::vector<double> gx, bx;
  for (double v : good) gx.push_back(to_model(p, v));
  for (double v : bad) bx.push_back(to_model(p, v));
  const Parzen l(gx, lo, hi), g(bx, lo, hi);
  double best = 0, best_score = -INFINITY;
  for (int c = 0; c < o.candidates; ++c) {
    const double x = l.sample(rng);
    const double score = std::log(l.density(x) + 1e-300) - std::log(g.density(x) + 1e-300);
    if (score > best_score) best_score = score, best = x;
  }
  return space.snap(p, from_model(p, best));
}

}  // namespace

Assignment propose(const SearchSpace& space, const std::vector<Observation>& finished,
                   const SearcherOptions& options, std::uint64_t seed, int trial_number) {
  std::mt19937_64 rng = rng_for(seed, trial_number);
  if (options.kind == "random" || int(finished.size()) < options.startup_trials)
    return space.sample_uniform(rng);
  std::vector<const Observation*> sorted;
  for (const auto& o : finished) sorted.push_back(&o);
  std::stable_sort(sorted.begin(), sorted.end(),
                   [](const Observation* a, const Observation* b) { return a->loss < b->loss; });
  const std::size_t n_good =
      std::clamp<std::size_t>(std::size_t(std::ceil(options.gamma * double(sorted.size()))), 1, 25);
  Assignment a;
  for (const auto& p : space.params()) {
    if (!space.active(p, a)) continue;
    std::vector<double> good, bad;
    for (std::size_t i = 0; i < sorted.size(); ++i)
      if (const auto it = sorted[i]->params.find(p.name); it != sorted[i]->params.end())
        (i < n_good ? good : bad).push_back(it->second);
    a[p.name] = propose_one(space, p, good, bad, options, rng);
  }
  return a;
}

}  // namespace convkit::tune
