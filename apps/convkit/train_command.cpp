// `convkit train`: resolve the config, load the dataset, train with progress, write the run
// directory (config.yaml, history.csv, metrics.json, checkpoints/{last,best}.ckpt) and print the
// final test accuracy.
#include "commands.h"
#include "config.h"
#include "datasets.h"
#include "run_files.h"

#include <convkit/data/registry.h>
#include <convkit/data/resolve.h>
#include <convkit/io/checkpoint.h>
#include <convkit/train/trainer.h>

#include <fmt/chrono.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <omp.h>

#include <ctime>
#include <filesystem>

namespace convkit::app {

namespace fs = std::filesystem;

namespace {

struct TrainArgs {
  std::string config;
  std::string data;
  std::string out;
  std::optional<std::uint64_t> seed;
  std::optional<int> epochs;
  std::vector<std::string> sets;
  bool quiet = false;
};

// Saves last.ckpt every epoch and best.ckpt whenever the monitored metric improves
// (validation accuracy when there is a validation split, else training loss), and keeps
// history.csv current, so an interrupted run leaves usable files.
class RunWriter final : public train::Callback {
 public:
  RunWriter(fs::path dir, RunInfo info, bool monitor_validation)
      : dir_(std::move(dir)), info_(std::move(info)), monitor_validation_(monitor_validation) {}

  void on_epoch_end(train::Trainer& trainer, const train::EpochLog& log) override {
    io::CheckpointContents contents;
    contents.epoch = log.epoch;
    contents.optimizer_name = std::string(trainer.optimizer().name());
    contents.optimizer_steps = trainer.optimizer().steps();
    contents.optimizer_state = trainer.optimizer().state();
    contents.rng_json = nlohmann::json{{"seed", trainer.options().seed}, {"step", trainer.step()}}.dump();
    contents.extra_json = run_info_to_json(info_);
    io::save_checkpoint(dir_ / "checkpoints" / "last.ckpt", trainer.model(), contents);
    const double score = monitor_validation_ ? log.val_accuracy : -log.loss;
    if (best_epoch_ == 0 || score > best_score_) {
      best_score_ = score;
      best_epoch_ = log.epoch;
      io::save_checkpoint(dir_ / "checkpoints" / "best.ckpt", trainer.model(), contents);
    }
    write_text_atomic(dir_ / "history.csv", trainer.history().to_csv());
  }
  int best_epoch() const { return best_epoch_; }

 private:
  fs::path dir_;
  RunInfo info_;
  bool monitor_validation_;
  double best_score_ = 0;
  int best_epoch_ = 0;
};

fs::path default_run_dir(const std::string& dataset) {
  const std::time_t now = std::time(nullptr);
  return fs::path("runs") / fmt::format("{}-{:%Y%m%d-%H%M%S}", dataset, fmt::localtime(now));
}

int run_train(const TrainArgs& args) {
  std::vector<std::string> sets = args.sets;
  if (args.seed) sets.push_back(fmt::format("train.seed={}", *args.seed));
  if (args.epochs) sets.push_back(fmt::format("train.epochs={}", *args.epochs));
  RunConfig cfg = load_run_config(args.config.empty() ? std::nullopt : std::optional(args.config), sets);
  if (cfg.threads > 0) omp_set_num_threads(cfg.threads);

  LoadedData data = load_data(cfg.dataset, args.data, cfg.train_samples, cfg.test_samples, cfg.seed);
  data::Dataset train_set = std::move(data.train), validation;
  if (cfg.validation_split > 0) std::tie(train_set, validation) = train_set.split(cfg.validation_split, cfg.seed);
  const train::Preprocess pre = data.preprocess;
  const auto& test_set = data.test;

  nn::Model model = cfg.build_model();
  model.initialize(cfg.seed);
  if (!args.quiet) fmt::print("{}\n", model.summary());
  auto optimizer = optim::make_optimizer(cfg.optimizer, cfg.optimizer_options);

  const fs::path dir = args.out.empty() ? default_run_dir(cfg.dataset) : fs::path(args.out);
  fs::create_directories(dir / "checkpoints");
  YAML::Emitter emitter;
  emitter << cfg.resolved;
  const std::string config_yaml = std::string(emitter.c_str()) + "\n";
  write_text_atomic(dir / "config.yaml", config_yaml);

  train::FitOptions fit{.epochs = cfg.epochs, .batch_size = cfg.batch_size, .eval_batch_size = cfg.eval_batch_size,
                        .seed = cfg.seed, .schedule = cfg.schedule, .label_smoothing = cfg.label_smoothing,
                        .backend = cfg.backend, .preprocess = pre, .progress = !args.quiet};
  train::Trainer trainer(model, *optimizer, fit);
  RunWriter writer(dir, RunInfo{cfg.dataset, pre, data.class_names, config_yaml}, validation.size() > 0);
  fmt::print("training {} on {} ({} train, {} validation, {} test images), {} epochs, batch {}, {} threads\n",
             cfg.optimizer, cfg.dataset, train_set.size(), validation.size(), test_set.size(), cfg.epochs,
             cfg.batch_size, omp_get_max_threads());
  std::fflush(stdout);
  trainer.fit(train_set, validation.size() > 0 ? &validation : nullptr, {&writer});

  // Report the test metrics of best.ckpt (what `convkit eval` on it prints).
  auto best = io::load_checkpoint(dir / "checkpoints" / "best.ckpt");
  train::Trainer evaluator(best.model, *optimizer, fit);
  auto report = evaluator.evaluate(test_set);
  const auto& history = trainer.history();
  const double seconds = trainer.train_seconds();
  std::int64_t images = 0;
  for (const auto& e : history.epochs) images += std::int64_t(e.images_per_second * e.seconds + 0.5);
  nlohmann::json metrics{
      {"test_accuracy", report.accuracy},
      {"test_loss", report.loss},
      {"test_top5_accuracy", report.top_k_accuracy},
      {"epochs", history.epochs.size()},
      {"best_epoch", writer.best_epoch()},
      {"train_seconds", seconds},
      {"images_per_second", seconds > 0 ? double(images) / seconds : 0.0},
      {"parameters", model.parameter_count()},
      {"seed", cfg.seed},
      {"dataset", cfg.dataset},
      {"threads", omp_get_max_threads()},
      {"convkit_version", CONVKIT_VERSION},
      {"epoch_seconds", [&] {
         std::vector<double> t;
         for (const auto& e : history.epochs) t.push_back(e.seconds);
         return t;
       }()},
      {"final_train_loss", history.epochs.empty() ? 0.0 : history.epochs.back().loss},
      {"test", nlohmann::json::parse(train::report_to_json(report, data.class_names))},
  };
  write_text_atomic(dir / "metrics.json", metrics.dump(2) + "\n");
  fmt::print("test accuracy {:.2f}% (loss {:.4f}) with best.ckpt from epoch {}; trained {:.1f} s; run directory {}\n",
             100 * report.accuracy, report.loss, writer.best_epoch(), seconds, dir.string());
  return 0;
}

}  // namespace

CommandRunner add_train_command(CLI::App& app) {
  auto args = std::make_shared<TrainArgs>();
  auto* cmd = app.add_subcommand("train", "Train a model (the default MNIST model when no config is given)");
  cmd->add_option("-c,--config", args->config, "YAML config file (see examples/)")->check(CLI::ExistingFile);
  cmd->add_option("--data", args->data, "directory holding the dataset files");
  cmd->add_option("-o,--out", args->out, "run directory (default runs/<dataset>-<time>)");
  cmd->add_option("--seed", args->seed, "random seed (train.seed)");
  cmd->add_option("--epochs", args->epochs, "number of epochs (train.epochs)")->check(CLI::PositiveNumber);
  cmd->add_option("--set", args->sets, "override a config key, e.g. --set train.optimizer.lr=0.01 (repeatable)");
  cmd->add_flag("-q,--quiet", args->quiet, "no model summary or progress bar");
  return [args] { return run_train(*args); };
}

}  // namespace convkit::app
