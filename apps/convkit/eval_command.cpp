// `convkit eval CHECKPOINT|RUN_DIR [...]`: loss, accuracy, per-class precision/recall/F1 and the
// confusion matrix, as a table or JSON; several checkpoints form an ensemble, --tta averages
// test-time variants (run::evaluate).
#include "commands.h"

#include <convkit/run/evaluate.h>
#include <convkit/run/tta.h>

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace convkit::app {

namespace {

struct EvalArgs {
  std::vector<std::string> checkpoints;
  run::EvaluateOptions options;
  bool json = false;
};

int run_eval(const EvalArgs& args) {
  const run::Evaluation e = run::evaluate(
      std::vector<std::filesystem::path>(args.checkpoints.begin(), args.checkpoints.end()),
      args.options);
  if (args.json) {
    fmt::print("{}\n", train::report_to_json(e.report, e.class_names));
    return 0;
  }
  fmt::print(
      "{} on {} ({} split{}{})\n", fmt::join(args.checkpoints, " + "), e.dataset,
      args.options.split,
      args.checkpoints.size() > 1 ? fmt::format(", ensemble of {}", args.checkpoints.size()) : "",
      args.options.tta != "none" ? ", test-time augmentation: " + args.options.tta : "");
  fmt::print("{}", train::format_report(e.report, e.class_names));
  return 0;
}

}  // namespace

CommandRunner add_eval_command(CLI::App& app) {
  auto args = std::make_shared<EvalArgs>();
  auto* cmd =
      app.add_subcommand("eval", "Evaluate checkpoints (several: an ensemble) on the test split");
  cmd->add_option("checkpoints", args->checkpoints, "checkpoint files (.ckpt) or run directories")
      ->required()
      ->check(CLI::ExistingPath);
  cmd->add_option("--data", args->options.data_dir, "directory holding the dataset files");
  cmd->add_option("--split", args->options.split, "test or train")
      ->check(CLI::IsMember({"test", "train"}));
  cmd->add_option("--tta", args->options.tta,
                  "test-time augmentation: none, shift, flip, shift+flip")
      ->check(CLI::IsMember(run::tta_modes()));
  cmd->add_option("--batch", args->options.batch_size, "evaluation batch size")
      ->check(at_least_one());
  cmd->add_flag("--json", args->json, "print JSON instead of tables");
  return [args] { return run_eval(*args); };
}

}  // namespace convkit::app
