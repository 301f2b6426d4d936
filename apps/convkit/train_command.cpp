// `convkit train`: flags -> run::RunConfig -> run::train (see include/convkit/run/train.h).
#include "commands.h"

#include <convkit/run/train.h>

#include <fmt/format.h>

#include <optional>

namespace convkit::app {

namespace {

struct TrainArgs {
  std::string config, data, out, resume;
  std::optional<std::uint64_t> seed;
  std::optional<int> epochs;
  std::vector<std::string> sets;
  bool quiet = false;
  bool overwrite = false;
  int nproc = 1;
};

int run_train(const TrainArgs& args) {
  if (args.nproc > 1) run_local_ranks(args.nproc);
  std::vector<std::string> sets = args.sets;
  if (args.seed) sets.push_back(fmt::format("train.seed={}", *args.seed));
  if (args.epochs) sets.push_back(fmt::format("train.epochs={}", *args.epochs));
  const bool resume = !args.resume.empty();
  if (resume && (!args.config.empty() || !args.sets.empty() || args.seed || !args.out.empty()))
    run::config_fail(
        "--resume continues a run with its own config.yaml: only --epochs and --data may be given");
  const run::RunConfig config =
      resume ? run::load_run_directory_config(args.resume, sets)
             : run::load_run_config(args.config.empty() ? std::nullopt : std::optional(args.config),
                                    sets);
  const run::RunResult result = run::train(config, {.out = resume ? args.resume : args.out,
                                                    .resume = resume,
                                                    .data_dir = args.data,
                                                    .overwrite = args.overwrite,
                                                    .show_summary = !args.quiet,
                                                    .progress = !args.quiet});
  if (result.interrupted && result.rank == 0) {
    fmt::print(
        stderr,
        "convkit: interrupted by signal {} at epoch {}, step {}: saved {}; continue with: convkit "
        "train {}--resume {}\n",
        result.signal, result.epoch + 1, result.step,
        (result.dir / "checkpoints/last.ckpt").string(),
        result.ranks > 1 ? fmt::format("--nproc {} ", result.ranks) : std::string(),
        result.dir.string());
    return 128 + result.signal;
  }
  if (result.interrupted) return 128 + result.signal;
  return 0;
}

}  // namespace

CommandRunner add_train_command(CLI::App& app) {
  auto args = std::make_shared<TrainArgs>();
  auto* cmd = app.add_subcommand("train",
                                 "Train a model (the default MNIST model when no config is given)");
  cmd->add_option("-c,--config", args->config, "YAML config file (see examples/)")
      ->check(CLI::ExistingFile);
  cmd->add_option("--resume", args->resume,
                  "continue an interrupted run from RUN_DIR/checkpoints/last.ckpt")
      ->check(CLI::ExistingDirectory);
  cmd->add_option("--data", args->data, "directory holding the dataset files");
  cmd->add_option("-o,--out", args->out, "run directory (default runs/<dataset>-<time>)");
  cmd->add_option("--seed", args->seed, "random seed (train.seed)");
  cmd->add_option("--epochs", args->epochs, "number of epochs (train.epochs)")
      ->check(at_least_one());
  cmd->add_option("--set", args->sets,
                  "override a config key, e.g. --set train.optimizer.lr=0.01 (repeatable)");
  cmd->add_flag("-q,--quiet", args->quiet, "no model summary or progress bar");
  cmd->add_option("--nproc", args->nproc,
                  "data-parallel training on N local ranks (runs mpirun -np N; the batch size "
                  "stays the global batch)")
      ->check(at_least_one());
  cmd->add_flag("--overwrite", args->overwrite,
                "replace the run directory --out names when it is not empty");
  return [args] { return run_train(*args); };
}

}  // namespace convkit::app
