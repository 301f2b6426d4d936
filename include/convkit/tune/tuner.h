// tune::tune: a hyperparameter study as one library call — what `convkit tune` does. A tuning
// spec (YAML) names a base training config, the search space over its keys, the objective, the
// searcher and the budget:
//
//   config: mnist_mlp.yaml            # the base config (relative to the spec)
//   set: [train.epochs=10]            # overrides of the base config, as --set
//   objective: val_accuracy           # or {metric: val_loss, direction: min}
//   max_trials: 5
//   executions_per_trial: 3           # each trial's objective: the mean over seeds seed, seed+1..
//   searcher: tpe                     # or random, or {type: tpe, startup_trials: 10}
//   seed: 1
//   budget: {minutes: 60}             # no new trial after that
//   hyperband: {min_epochs: 1, max_epochs: 9, eta: 3}   # successive halving (or pruner: median)
//   space:
//     - {name: units, key: model.layers.1.units, type: int, low: 32, high: 512, step: 32}
//     - {name: lr, key: train.optimizer.lr, type: choice, values: [1e-2, 1e-3, 1e-4]}
//     - {key: train.optimizer.momentum, type: float, low: 0.5, high: 0.99,
//        when: {optimizer: [sgd]}}
//
// Objectives: a history column (loss, accuracy, val_loss, val_accuracy, val_top5, val_macro_f1:
// its best epoch, as Keras Tuner) or the test figures (test_accuracy, test_loss,
// test_macro_f1). Direction: max for accuracies and F1, min for losses, unless given.
//
// The study lives in OUT/study.db (tune/study.h); each execution is an ordinary run directory,
// OUT/trials/NNNN/run-E, trained by run::train with last.ckpt after every epoch, so a killed study
// continues (resume) with its interrupted executions from their checkpoints and repeats no
// finished one. At the end: OUT/trials.csv, OUT/report.html and OUT/best.yaml, the base config
// with the best trial's parameters, ready to train.
#pragma once

#include <convkit/run/datasets.h>
#include <convkit/run/train.h>
#include <convkit/tune/searcher.h>
#include <convkit/tune/study.h>

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace convkit::tune {

struct Objective {
  std::string metric = "val_accuracy";
  bool maximize = true;

  bool better(double a, double b) const { return maximize ? a > b : a < b; }  // a beats b
  // The history column the metric names, for one epoch; NaN for the test figures.
  double of_epoch(const train::EpochLog& e) const;
};

// Successive halving (ASHA, the asynchronous form of Hyperband's brackets): every trial first
// trains min_epochs; a trial among the best 1/eta of those that reached a rung is continued from
// its checkpoint to the next rung (min_epochs x eta^k, up to max_epochs); the others stay paused.
struct HyperbandOptions {
  int min_epochs = 1;
  int max_epochs = 9;
  int eta = 3;
  std::vector<int> rungs() const;  // min_epochs, min_epochs*eta, ..., max_epochs
};

// Median pruning: after `warmup_epochs`, a trial whose objective (best so far) is worse than the
// median of the finished trials' at the same epoch stops there; not before `startup_trials`
// trials have finished.
struct PrunerOptions {
  int startup_trials = 5;
  int warmup_epochs = 1;
};

struct TuneSpec {
  std::filesystem::path config;   // the base config file; empty: the built-in default
  std::vector<std::string> sets;  // overrides of it
  SearchSpace space;
  Objective objective;
  int max_trials = 10;
  int executions_per_trial = 1;
  SearcherOptions searcher;
  std::uint64_t seed = 1;
  double budget_minutes = 0;  // 0: none
  std::optional<HyperbandOptions> hyperband;
  std::optional<PrunerOptions> pruner;
  std::string text;  // the spec as written (kept in the study; resume compares it)
};

// Reads a spec file; relative paths in it are relative to the file. ConfigError names the key.
TuneSpec load_tune_spec(const std::filesystem::path& file);
TuneSpec parse_tune_spec(const std::string& yaml_text, const std::string& source,
                         const std::filesystem::path& base_dir);

struct TuneOptions {
  std::filesystem::path out = "tune";  // the study folder: trials' run directories, summaries
  // Where the study's tables live: "" OUT/study.db (SQLite); or a postgresql:// URL, for workers
  // on several machines (the run directories stay per machine unless OUT is shared).
  std::string storage;
  // Continue the study in `out` (or join the workers already on it); else `out` must hold none.
  bool resume = false;
  int workers = 1;       // trials in parallel: worker processes (more than 1: the CLI forks them)
  int threads = 0;       // OpenMP threads per trial; 0: the machine's cores divided among workers
  std::string data_dir;  // the dataset's files (--data)
  std::optional<run::LoadedData> data;  // given data, for every trial
  bool print = true;                    // the live table and the summary on stdout
};

struct TuneResult {
  std::vector<Trial> trials;
  std::optional<Trial> best;
  std::filesystem::path best_config;  // OUT/best.yaml, when a trial completed
  double seconds = 0;                 // this call's wall time
  int interrupted_by = 0;  // the signal that stopped it (SIGINT, SIGTERM): resume to continue
};

// Runs trials in this process until the study has max_trials finished (or the budget is spent),
// sharing the study with any other worker on it; then writes the summary files.
TuneResult tune(const TuneSpec& spec, const TuneOptions& options);

// One worker's loop (what tune() runs, and each forked worker of the CLI): claim, train, record.
void work(const TuneSpec& spec, const TuneOptions& options, int threads);
// The study's summary: best trial, OUT/trials.csv, OUT/best.yaml; prints the table when asked.
TuneResult summarize(const TuneSpec& spec, const TuneOptions& options);
// Opens or creates the study (OUT/study.db or options.storage) for the spec (resume: the study's
// spec must be the same).
Study open_study(const TuneSpec& spec, const TuneOptions& options);

// The study's HTML page: best trial, objective over the trials, parallel coordinates, parameter
// importance, the trials table (summarize() writes it to OUT/report.html).
std::string render_study_report(const TuneSpec& spec, const std::vector<Trial>& trials,
                                const std::optional<Trial>& best);

// The objective of one finished run.
double objective_of(const Objective& objective, const run::RunResult& result);

}  // namespace convkit::tune
