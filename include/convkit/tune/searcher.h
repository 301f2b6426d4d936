// Searchers: each proposes the next trial's parameters from the trials finished so far.
//   random — every active parameter uniform (on its grid, or in log space);
//   tpe    — the tree-structured Parzen estimator (Bergstra et al. 2011, Optuna's default): the
//            finished trials split into the best `gamma` fraction and the rest, a Parzen density
//            over each parameter's values in either part, l(x) and g(x), and of `candidates` draws
//            from l the one with the highest l(x)/g(x) is taken; random for the first
//            `startup_trials`.
// TPE rather than a Gaussian process because the spaces here are conditional and mostly
// categorical or stepped (per-layer filters only when the layer exists, an optimizer choice), which
// TPE handles per parameter without a kernel over mixed types; it costs O(trials) per proposal;
// and it is what the peer (Optuna) runs, so a comparison measures the trainer, not the searcher.
// Proposals are deterministic in (seed, trial number, finished trials).
#pragma once

#include <convkit/tune/space.h>

#include <cstdint>
#include <string>
#include <vector>

namespace convkit::tune {

// A finished trial as a searcher sees it: its parameters and its loss (the objective, negated
// when it is maximized: lower is always better here).
struct Observation {
  Assignment params;
  double loss = 0;
};

struct SearcherOptions {
  std::string kind = "tpe";  // random | tpe
  int startup_trials = 10;   // tpe: random proposals before the model is used
  int candidates = 24;       // tpe: draws from l(x) per parameter
  double gamma = 0.1;        // tpe: the good fraction (at most 25 trials)
};

Assignment propose(const SearchSpace& space, const std::vector<Observation>& finished,
                   const SearcherOptions& options, std::uint64_t seed, int trial_number);

}  // namespace convkit::tune
