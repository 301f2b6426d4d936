// `convkit eval CHECKPOINT [CHECKPOINT...]`: loss, accuracy, per-class precision/recall/F1 and the
// confusion matrix on the test split of the checkpoints' dataset, as a table or JSON. Several
// checkpoints form an ensemble (probabilities averaged); --tta averages each model's
// probabilities over test-time variants of every image (one-pixel shifts, horizontal flips).
#include "commands.h"
#include "datasets.h"
#include "run_files.h"
#include "tta.h"

#include <convkit/io/checkpoint.h>
#include <convkit/train/trainer.h>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <cmath>

namespace convkit::app {

namespace {

struct EvalArgs {
  std::vector<std::string> checkpoints;
  std::string data;
  std::string split = "test";
  std::string tta = "none";
  std::int64_t batch = 1000;
  bool json = false;
};

int run_eval(const EvalArgs& args) {
  std::optional<RunInfo> info;
  std::optional<LoadedData> data;
  Tensor sum;
  int members = 0;
  for (const auto& path : args.checkpoints) {
    auto loaded = as_data_error([&] { return io::load_checkpoint(path); });
    RunInfo member = as_data_error([&] { return run_info_from_json(loaded.contents.extra_json, path); });
    if (!info) {
      info = member;
      data = load_data(info->dataset, args.data);
    } else if (member.dataset != info->dataset || member.class_names.size() != info->class_names.size()) {
      throw DataError(fmt::format("{}: trained on {} ({} classes), but {} was trained on {} ({} classes)", path,
                                  member.dataset, member.class_names.size(), args.checkpoints[0], info->dataset,
                                  info->class_names.size()));
    }
    const data::Dataset& dataset = args.split == "train" ? data->train : data->test;
    auto optimizer = optim::make_optimizer("sgd", {});
    train::Trainer trainer(loaded.model, *optimizer,
                           {.eval_batch_size = args.batch, .preprocess = member.preprocess, .progress = false});
    Tensor p = predict_with_tta(trainer, dataset, args.tta, member.preprocess);
    if (!sum.defined()) sum = Tensor::zeros(p.shape());
    if (p.shape() != sum.shape())
      throw DataError(fmt::format("{}: the model outputs {} values per image, the ensemble {}", path, p.dim(1), sum.dim(1)));
    float* s = sum.data<float>();
    const float* q = p.data<float>();
    for (std::int64_t i = 0; i < p.numel(); ++i) s[i] += q[i];
    ++members;
  }
  const data::Dataset& dataset = args.split == "train" ? data->train : data->test;
  float* s = sum.data<float>();
  for (std::int64_t i = 0; i < sum.numel(); ++i) s[i] /= float(members);
  const auto report = train::report_from_probabilities(sum, dataset.labels);
  if (args.json) {
    fmt::print("{}\n", train::report_to_json(report, info->class_names));
  } else {
    fmt::print("{} on {} ({} split{}{})\n", fmt::join(args.checkpoints, " + "), info->dataset, args.split,
               args.checkpoints.size() > 1 ? fmt::format(", ensemble of {}", args.checkpoints.size()) : "",
               args.tta != "none" ? ", test-time augmentation: " + args.tta : "");
    fmt::print("{}", train::format_report(report, info->class_names));
  }
  return 0;
}

}  // namespace

CommandRunner add_eval_command(CLI::App& app) {
  auto args = std::make_shared<EvalArgs>();
  auto* cmd = app.add_subcommand("eval", "Evaluate checkpoints (several: an ensemble) on the test split");
  cmd->add_option("checkpoints", args->checkpoints, "checkpoint files (.ckpt)")->required()->check(CLI::ExistingFile);
  cmd->add_option("--data", args->data, "directory holding the dataset files");
  cmd->add_option("--split", args->split, "test or train")->check(CLI::IsMember({"test", "train"}));
  cmd->add_option("--tta", args->tta, "test-time augmentation: none, shift, flip, shift+flip")
      ->check(CLI::IsMember(tta_modes()));
  cmd->add_option("--batch", args->batch, "evaluation batch size")->check(CLI::PositiveNumber);
  cmd->add_flag("--json", args->json, "print JSON instead of tables");
  return [args] { return run_eval(*args); };
}

}  // namespace convkit::app
