// `convkit train`: resolve the config, load the dataset, train with progress, write the run
// directory (config.yaml, history.csv, metrics.json, checkpoints/{last,best}.ckpt) and print the
// final test accuracy.
#include "commands.h"
#include "config.h"
#include "datasets.h"
#include "run_files.h"
#include "tta.h"

#include <convkit/data/registry.h>
#include <convkit/data/resolve.h>
#include <convkit/io/checkpoint.h>
#include <convkit/train/tensorboard_callback.h>
#include <convkit/train/callbacks.h>
#include <convkit/train/trainer.h>

#include <fmt/chrono.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <omp.h>

#include <ctime>
#include <fstream>
#include <sstream>
#include <filesystem>

namespace convkit::app {

namespace fs = std::filesystem;

namespace {

struct TrainArgs {
  std::string config;
  std::string data;
  std::string out;
  std::string resume;
  std::optional<std::uint64_t> seed;
  std::optional<int> epochs;
  std::vector<std::string> sets;
  bool quiet = false;
};

// Keeps history.csv current after every epoch (the CSV logger).
class HistoryWriter final : public train::Callback {
 public:
  explicit HistoryWriter(fs::path path) : path_(std::move(path)) {}
  std::string name() const override { return "csv_logger"; }
  void on_epoch_end(train::Trainer& trainer, const train::EpochLog&) override {
    write_text_atomic(path_, trainer.history().to_csv());
  }

 private:
  fs::path path_;
};

fs::path default_run_dir(const std::string& dataset) {
  const std::time_t now = std::time(nullptr);
  return fs::path("runs") / fmt::format("{}-{:%Y%m%d-%H%M%S}", dataset, fmt::localtime(now));
}

std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw DataError(fmt::format("{}: cannot read", path.string()));
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

int run_train(const TrainArgs& args) {
  const bool resume = !args.resume.empty();
  std::vector<std::string> sets = args.sets;
  if (args.seed) sets.push_back(fmt::format("train.seed={}", *args.seed));
  if (args.epochs) sets.push_back(fmt::format("train.epochs={}", *args.epochs));
  RunConfig cfg;
  fs::path dir;
  if (resume) {
    if (!args.config.empty() || !args.sets.empty() || args.seed || !args.out.empty())
      config_fail("--resume continues a run with its own config.yaml: only --epochs and --data may be given");
    dir = args.resume;
    cfg = parse_run_config(read_text(dir / "config.yaml"), (dir / "config.yaml").string(), sets);
  } else {
    cfg = load_run_config(args.config.empty() ? std::nullopt : std::optional(args.config), sets);
    dir = args.out.empty() ? default_run_dir(cfg.dataset) : fs::path(args.out);
  }
  if (cfg.threads > 0) omp_set_num_threads(cfg.threads);

  LoadedData data = load_data(cfg.dataset, args.data, cfg.train_samples, cfg.test_samples, cfg.seed);
  data::Dataset train_set = std::move(data.train), validation;
  if (cfg.validation_split > 0) std::tie(train_set, validation) = train_set.split(cfg.validation_split, cfg.seed);
  const train::Preprocess pre = data.preprocess;
  const auto& test_set = data.test;

  auto optimizer = optim::make_optimizer(cfg.optimizer, cfg.optimizer_options);
  std::optional<io::LoadedCheckpoint> last;
  if (resume) {
    last = as_data_error([&] { return io::load_checkpoint(dir / "checkpoints" / "last.ckpt"); });
  }
  nn::Model model = resume ? last->model : cfg.build_model();
  if (!resume) model.initialize(cfg.seed);
  if (!args.quiet && !resume) fmt::print("{}\n", model.summary());

  fs::create_directories(dir / "checkpoints");
  YAML::Emitter emitter;
  emitter << cfg.resolved;
  const std::string config_yaml = std::string(emitter.c_str()) + "\n";
  write_text_atomic(dir / "config.yaml", config_yaml);

  train::FitOptions fit{.epochs = cfg.epochs, .batch_size = cfg.batch_size, .eval_batch_size = cfg.eval_batch_size,
                        .seed = cfg.seed, .schedule = cfg.schedule, .label_smoothing = cfg.label_smoothing,
                        .backend = cfg.backend, .preprocess = pre, .augment = cfg.augment, .ema_decay = cfg.ema_decay,
                        .progress = !args.quiet};
  train::Trainer trainer(model, *optimizer, fit);  // takes the config's learning rate as the base
  if (resume) {
    io::restore_optimizer(last->contents, *optimizer);
    if (last->contents.training_weights.defined()) trainer.resume_averaging(last->contents.training_weights);
  }

  // Callbacks: the stateful ones are saved in every checkpoint so --resume continues them.
  std::optional<train::EarlyStopping> early_stopping;
  std::optional<train::ReduceLROnPlateau> reduce_lr;
  std::vector<train::Callback*> stateful;
  if (cfg.early_stopping) stateful.push_back(&early_stopping.emplace(cfg.early_stopping_options));
  if (cfg.reduce_lr_on_plateau) stateful.push_back(&reduce_lr.emplace(cfg.reduce_lr_options));
  train::ModelCheckpoint checkpoint({.directory = dir / "checkpoints", .monitor = cfg.checkpoint_monitor,
                                     .every_n_epochs = cfg.checkpoint_every_n_epochs,
                                     .extra_json = run_info_to_json({cfg.dataset, pre, data.class_names, config_yaml})},
                                    stateful);
  HistoryWriter history_writer(dir / "history.csv");
  train::TensorBoardCallback tensorboard(dir, validation.size() > 0 ? &validation : nullptr, {.enabled = cfg.tensorboard});
  std::vector<train::Callback*> callbacks = stateful;
  callbacks.push_back(&checkpoint);
  callbacks.push_back(&history_writer);
  callbacks.push_back(&tensorboard);
  if (resume) {
    std::vector<train::Callback*> restored = stateful;
    restored.push_back(&checkpoint);
    train::ModelCheckpoint::restore(last->contents.rng_json, trainer, restored, (dir / "checkpoints/last.ckpt").string());
    fmt::print("resuming {} at epoch {} (step {}, batch {} of the epoch)\n", dir.string(), trainer.epoch() + 1,
               trainer.step(), trainer.state().batch);
  }
  fmt::print("training {} on {} ({} train, {} validation, {} test images), {} epochs, batch {}, {} threads\n",
             cfg.optimizer, cfg.dataset, train_set.size(), validation.size(), test_set.size(), cfg.epochs,
             cfg.batch_size, omp_get_max_threads());
  std::fflush(stdout);
  train::install_interrupt_handlers();
  trainer.fit(train_set, validation.size() > 0 ? &validation : nullptr, callbacks);
  if (trainer.interrupted()) {
    const int signal = train::interrupted_by();
    fmt::print(stderr, "convkit: interrupted by signal {} at epoch {}, step {}: saved {}; continue with: convkit train --resume {}\n",
               signal, trainer.epoch() + 1, trainer.step(), (dir / "checkpoints/last.ckpt").string(), dir.string());
    return 128 + signal;
  }

  // Report the test metrics of best.ckpt (what `convkit eval` on it prints).
  auto best = io::load_checkpoint(dir / "checkpoints" / "best.ckpt");
  train::Trainer evaluator(best.model, *optimizer, fit);
  // One prediction pass serves metrics.json and report.html; with train.test_tta, the
  // probabilities averaged over the variants (the plain pass is reported beside them).
  const Tensor plain_probabilities = evaluator.predict(test_set);
  const bool tta = cfg.test_tta != "none";
  const Tensor probabilities = tta ? predict_with_tta(evaluator, test_set, cfg.test_tta, pre, plain_probabilities)
                                     : plain_probabilities;
  const auto report = train::report_from_probabilities(probabilities, test_set.labels);
  const double plain_accuracy =
      tta ? train::report_from_probabilities(plain_probabilities, test_set.labels).accuracy : report.accuracy;
  const auto& history = trainer.history();
  const double seconds = trainer.train_seconds();
  std::int64_t images = 0;
  for (const auto& e : history.epochs) images += std::int64_t(e.images_per_second * e.seconds + 0.5);
  nlohmann::json metrics{
      {"test_accuracy", report.accuracy},
      {"test_loss", report.loss},
      {"test_top5_accuracy", report.top_k_accuracy},
      {"test_tta", cfg.test_tta},
      {"test_accuracy_without_tta", plain_accuracy},
      {"epochs", history.epochs.size()},
      {"best_epoch", checkpoint.best_epoch()},
      {"stopped_early", early_stopping && early_stopping->stopped_epoch() > 0},
      {"train_seconds", seconds},
      {"images_per_second", seconds > 0 ? double(images) / seconds : 0.0},
      {"epoch_seconds", [&] {
         std::vector<double> t;
         for (const auto& e : history.epochs) t.push_back(e.seconds);
         return t;
       }()},
      {"parameters", model.parameter_count()},
      {"seed", cfg.seed},
      {"dataset", cfg.dataset},
      {"threads", omp_get_max_threads()},
      {"convkit_version", CONVKIT_VERSION},
      {"final_train_loss", history.epochs.empty() ? 0.0 : history.epochs.back().loss},
      {"test", nlohmann::json::parse(train::report_to_json(report, data.class_names))},
  };
  write_text_atomic(dir / "metrics.json", metrics.dump(2) + "\n");
  write_report(dir, best.model, test_set, pre, data.class_names, {}, probabilities);  // report.html
  const std::string tta_note =
      tta ? fmt::format(" with test-time augmentation {} ({:.2f}% without)", cfg.test_tta, 100 * plain_accuracy) : "";
  fmt::print("test accuracy {:.2f}%{} (loss {:.4f}) with best.ckpt from epoch {}; trained {:.1f} s; run directory {}\n",
             100 * report.accuracy, tta_note, report.loss, checkpoint.best_epoch(), seconds, dir.string());
  return 0;
}

}  // namespace

CommandRunner add_train_command(CLI::App& app) {
  auto args = std::make_shared<TrainArgs>();
  auto* cmd = app.add_subcommand("train", "Train a model (the default MNIST model when no config is given)");
  cmd->add_option("-c,--config", args->config, "YAML config file (see examples/)")->check(CLI::ExistingFile);
  cmd->add_option("--resume", args->resume, "continue an interrupted run from RUN_DIR/checkpoints/last.ckpt")
      ->check(CLI::ExistingDirectory);
  cmd->add_option("--data", args->data, "directory holding the dataset files");
  cmd->add_option("-o,--out", args->out, "run directory (default runs/<dataset>-<time>)");
  cmd->add_option("--seed", args->seed, "random seed (train.seed)");
  cmd->add_option("--epochs", args->epochs, "number of epochs (train.epochs)")->check(CLI::PositiveNumber);
  cmd->add_option("--set", args->sets, "override a config key, e.g. --set train.optimizer.lr=0.01 (repeatable)");
  cmd->add_flag("-q,--quiet", args->quiet, "no model summary or progress bar");
  return [args] { return run_train(*args); };
}

}  // namespace convkit::app
