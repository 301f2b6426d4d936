// `convkit tune`: a hyperparameter study (include/convkit/tune/tuner.h) — the spec, the study
// folder, the workers — and the final table, best parameters and best.yaml.
#include "commands.h"

#include <convkit/tune/tuner.h>

#include <fmt/format.h>

#include <algorithm>
#include <map>

namespace convkit::app {

namespace {

struct TuneArgs {
  std::string spec, out = "tune", data, storage;
  int workers = 1, threads = 0;
  bool resume = false, quiet = false;
};

void print_summary(const tune::TuneSpec& spec, const tune::TuneResult& r) {
  std::vector<const tune::Trial*> done;
  for (const auto& t : r.trials)
    if (t.value) done.push_back(&t);
  std::sort(done.begin(), done.end(), [&](const tune::Trial* a, const tune::Trial* b) {
    return spec.objective.better(*a->value, *b->value);
  });
  fmt::print("\n{:>5}  {:<48}  {:>12}  {:>9}\n", "trial", "parameters", spec.objective.metric,
             "seconds");
  for (std::size_t i = 0; i < std::min<std::size_t>(done.size(), 10); ++i)
    fmt::print("{:>5}  {:<48}  {:>12.5f}  {:>9.1f}\n", done[i]->number,
               spec.space.describe(done[i]->params), *done[i]->value, done[i]->seconds);
  std::map<std::string, int> states;
  for (const auto& t : r.trials) ++states[tune::state_name(t.state)];
  std::string counts;
  for (const auto& [state, n] : states)
    counts += fmt::format("{}{} {}", counts.empty() ? "" : ", ", n, state);
  fmt::print("{} trials ({}); {:.1f} s\n", r.trials.size(), counts, r.seconds);
  if (r.best)
    fmt::print("best: trial {} ({} {:.5f}): {}\nready to train: convkit train --config {}\n",
               r.best->number, spec.objective.metric, *r.best->value,
               spec.space.describe(r.best->params), r.best_config.string());
}

int run_tune(const TuneArgs& args) {
  const tune::TuneSpec spec = tune::load_tune_spec(args.spec);
  const tune::TuneResult r = tune::tune(spec, {.out = args.out,
                                               .storage = args.storage,
                                               .resume = args.resume,
                                               .workers = args.workers,
                                               .threads = args.threads,
                                               .data_dir = args.data,
                                               .print = !args.quiet});
  if (!args.quiet) print_summary(spec, r);
  if (r.interrupted_by) {
    fmt::print(stderr,
               "convkit tune: interrupted by signal {}: finished trials are kept, the running ones "
               "saved their checkpoints; continue with: convkit tune --config {} --out {} "
               "--resume\n",
               r.interrupted_by, args.spec, args.out);
    return 128 + r.interrupted_by;
  }
  return 0;
}

}  // namespace

CommandRunner add_tune_command(CLI::App& app) {
  auto args = std::make_shared<TuneArgs>();
  auto* cmd = app.add_subcommand(
      "tune", "Search hyperparameters: random or TPE trials, parallel workers, resumable");
  cmd->add_option("-c,--config", args->spec, "the tuning spec (YAML: config, space, objective...)")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_option("-o,--out", args->out, "the study folder (study.db, trials/, best.yaml)");
  cmd->add_option("--storage", args->storage,
                  "the study's tables in PostgreSQL (postgresql://user@host/db) instead of "
                  "OUT/study.db, for workers on several machines");
  cmd->add_flag("--resume", args->resume,
                "continue the study in --out (or join its other workers)");
  cmd->add_option("--workers", args->workers, "trials in parallel (processes)")
      ->check(at_least_one());
  cmd->add_option("--threads", args->threads,
                  "threads per trial (default: the cores divided among the workers)")
      ->check(at_least_one());
  cmd->add_option("--data", args->data, "directory holding the dataset files");
  cmd->add_flag("-q,--quiet", args->quiet, "no table");
  return [args] { return run_tune(*args); };
}

}  // namespace convkit::app
