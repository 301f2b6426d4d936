// `convkit eval CHECKPOINT`: loss, accuracy, per-class precision/recall/F1 and the confusion
// matrix on the test split of the checkpoint's dataset, as a table or JSON.
#include "commands.h"
#include "datasets.h"
#include "run_files.h"

#include <convkit/data/resolve.h>
#include <convkit/io/checkpoint.h>
#include <convkit/train/trainer.h>

#include <fmt/format.h>

namespace convkit::app {

namespace {

struct EvalArgs {
  std::string checkpoint;
  std::string data;
  std::string split = "test";
  std::int64_t batch = 1000;
  bool json = false;
};

int run_eval(const EvalArgs& args) {
  auto loaded = as_data_error([&] { return io::load_checkpoint(args.checkpoint); });
  RunInfo info = as_data_error([&] { return run_info_from_json(loaded.contents.extra_json, args.checkpoint); });
  LoadedData data = load_data(info.dataset, args.data);
  const data::Dataset& dataset = args.split == "train" ? data.train : data.test;
  auto optimizer = optim::make_optimizer("sgd", {});
  train::Trainer trainer(loaded.model, *optimizer,
                         {.eval_batch_size = args.batch, .preprocess = info.preprocess, .progress = false});
  auto report = trainer.evaluate(dataset);
  if (args.json) {
    fmt::print("{}\n", train::report_to_json(report, info.class_names));
  } else {
    fmt::print("{} on {} ({} split)\n", args.checkpoint, info.dataset, args.split);
    fmt::print("{}", train::format_report(report, info.class_names));
  }
  return 0;
}

}  // namespace

CommandRunner add_eval_command(CLI::App& app) {
  auto args = std::make_shared<EvalArgs>();
  auto* cmd = app.add_subcommand("eval", "Evaluate a checkpoint on its dataset's test split");
  cmd->add_option("checkpoint", args->checkpoint, "checkpoint file (.ckpt)")->required()->check(CLI::ExistingFile);
  cmd->add_option("--data", args->data, "directory holding the dataset files");
  cmd->add_option("--split", args->split, "test or train")->check(CLI::IsMember({"test", "train"}));
  cmd->add_option("--batch", args->batch, "evaluation batch size")->check(CLI::PositiveNumber);
  cmd->add_flag("--json", args->json, "print JSON instead of tables");
  return [args] { return run_eval(*args); };
}

}  // namespace convkit::app
