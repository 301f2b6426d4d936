// run::train: a training run from a RunConfig to a finished run directory (see train.h).
#include <convkit/run/train.h>
#include <convkit/version.h>

#include <convkit/dist/process_group.h>
#include <convkit/io/checkpoint.h>
#include <convkit/run/errors.h>
#include <convkit/run/report.h>
#include <convkit/run/run_dir.h>
#include <convkit/run/tta.h>
#include <convkit/train/callbacks.h>
#include <convkit/train/predictor.h>
#include <convkit/train/tensorboard_callback.h>

#include <fmt/chrono.h>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <omp.h>
#include <nlohmann/json.hpp>

#include <ctime>

namespace convkit::run {

namespace fs = std::filesystem;

namespace {

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

// TrainOptions::on_epoch_end as a callback, after the checkpoint and history ones.
class EpochHook final : public train::Callback {
 public:
  explicit EpochHook(const std::function<bool(const train::EpochLog&)>& f) : f_(f) {}
  std::string name() const override { return "on_epoch_end"; }
  void on_epoch_end(train::Trainer& trainer, const train::EpochLog& log) override {
    if (f_ && !f_(log)) {
      stopped_ = true;
      trainer.request_stop();
    }
  }
  bool stopped() const { return stopped_; }

 private:
  const std::function<bool(const train::EpochLog&)>& f_;
  bool stopped_ = false;
};

fs::path default_run_dir(const std::string& dataset) {
  const std::time_t now = std::time(nullptr);
  return fs::path("runs") / fmt::format("{}-{:%Y%m%d-%H%M%S}", dataset, fmt::localtime(now));
}

std::string absolute_or_empty(const std::string& dir) {
  return dir.empty() ? dir : fs::absolute(dir).lexically_normal().string();
}

nlohmann::json metrics_json(const RunConfig& cfg, const RunResult& r, const nn::Model& model,
                            bool stopped_early, const std::vector<std::string>& class_names) {
  std::int64_t images = 0;
  std::vector<double> epoch_seconds;
  for (const auto& e : r.history.epochs) {
    images += std::int64_t(e.images_per_second * e.seconds + 0.5);
    epoch_seconds.push_back(e.seconds);
  }
  return {
      {"test_accuracy", r.test.accuracy},
      {"test_loss", r.test.loss},
      {"test_top5_accuracy", r.test.top_k_accuracy},
      {"test_tta", cfg.test_tta},
      {"test_accuracy_without_tta", r.test_accuracy_without_tta},
      {"epochs", r.history.epochs.size()},
      {"best_epoch", r.best_epoch},
      {"stopped_early", stopped_early},
      {"train_seconds", r.train_seconds},
      {"images_per_second", r.train_seconds > 0 ? double(images) / r.train_seconds : 0.0},
      {"epoch_seconds", epoch_seconds},
      {"parameters", model.parameter_count()},
      {"seed", cfg.seed},
      {"dataset", cfg.dataset},
      {"threads", omp_get_max_threads()},  // at most, when shared
      {"threads_shared", cfg.threads == 0},
      {"convkit_version", CONVKIT_VERSION},
      {"final_train_loss", r.history.epochs.empty() ? 0.0 : r.history.epochs.back().loss},
      {"test", nlohmann::json::parse(train::report_to_json(r.test, class_names))},
  };
}

// Mistakes a config can only show against its data, found before anything is trained.
void check_against_data(const RunConfig& cfg, const nn::Model& model, const data::Source& train_set,
                        const data::Dataset& test_set) {
  const auto images = train_set.image_shape();  // resize given: the loader brings them to size
  if (images && cfg.input != *images && !cfg.images.resize_given)
    config_fail(
        "'model.input' is {} but the {} images are {} (channels, height, width); set "
        "dataset.resize (stretch, center_crop or letterbox) to resize them",
        cfg.input.str(), cfg.dataset, images->str());
  const Shape out = model.output_shape(0);
  const int classes = train_set.num_classes();
  if ((out.rank() != 1 || out[0] != classes) && cfg.zoo)
    config_fail(
        "the model outputs {} values per image but {} has {} classes: set 'model.classes' "
        "to {}",
        out.str(), cfg.dataset, classes, classes);
  if (out.rank() != 1 || out[0] != classes)
    config_fail(
        "the model outputs {} values per image but {} has {} classes: give the last layer 'units: "
        "{}' "
        "(model.layers)",
        out.str(), cfg.dataset, classes, classes);
  if (test_set.size() > 0 && test_set.num_classes != classes)
    throw DataError(fmt::format("{}: the test split has {} classes, the training split {}",
                                cfg.dataset, test_set.num_classes, classes));
  if (cfg.batch_size > train_set.size())
    config_fail("'train.batch_size' is {} but the training set has only {} samples{}",
                cfg.batch_size, train_set.size(),
                cfg.validation_split > 0 ? " after the validation split" : "");
}

// The same layers and parameter shapes (what a checkpoint must hold to continue a run).
std::string model_mismatch(const nn::Model& expected, const nn::Model& found) {
  const auto a = expected.parameter_names(), b = found.parameter_names();
  if (a != b)
    return fmt::format("parameters {} against {}", fmt::join(b, ", "), fmt::join(a, ", "));
  for (const auto& name : a)
    if (expected.parameter(name).shape() != found.parameter(name).shape())
      return fmt::format("{} is {} against {}", name, found.parameter(name).shape().str(),
                         expected.parameter(name).shape().str());
  return {};
}

void write_status(const RunDirectory& dir, const std::string& status,
                  const std::string& error = {}) {
  nlohmann::json j{{"status", status}};
  if (!error.empty()) j["error"] = error;
  try {
    write_text_atomic(dir.status(), j.dump(2) + "\n");
  } catch (const Error&) {
    // The status is a courtesy: a full disk must not hide the error that is being reported.
  }
}

RunResult train_in(const RunConfig& cfg, const TrainOptions& options, const RunDirectory& dir,
                   const std::shared_ptr<dist::ProcessGroup>& group);

// The job this process is a rank of (launched by mpirun, srun or `convkit train --nproc`).
std::shared_ptr<dist::ProcessGroup> join_job_or_fail() {
  try {
    return dist::join_job();
  } catch (const Error& e) {
    config_fail("data-parallel launch: {}", e.what());
  }
}

}  // namespace

RunConfig load_run_directory_config(const fs::path& run_dir, const std::vector<std::string>& sets) {
  const fs::path file = RunDirectory{run_dir}.config();
  return parse_run_config(read_text(file), file.string(), sets);
}

RunResult train(const RunConfig& cfg, const TrainOptions& options) {
  if (options.resume && options.out.empty())
    config_fail("resume: name the run directory to continue");
  const std::shared_ptr<dist::ProcessGroup> group = join_job_or_fail();
  if (group->size() > 1 && options.out.empty())
    config_fail("data-parallel training ({} ranks): name the run directory with --out",
                group->size());
  group->set_timeout(cfg.distributed_timeout);
  const RunDirectory dir{options.out.empty() ? default_run_dir(cfg.dataset) : options.out};
  // Ranks other than 0 write nothing: rank 0 alone owns the run directory.
  if (group->rank() != 0) return train_in(cfg, options, dir, group);
  if (!options.resume && fs::exists(dir.root)) {
    if (!fs::is_directory(dir.root))
      config_fail("--out {}: exists and is not a directory", dir.root.string());
    if (!fs::is_empty(dir.root)) {
      if (!options.overwrite)
        config_fail(
            "--out {}: the directory is not empty (another run's files would mix with this one's); "
            "choose "
            "another directory, continue it with --resume, or replace it with --overwrite",
            dir.root.string());
      fs::remove_all(dir.root);
    }
  }
  try {
    RunResult result = train_in(cfg, options, dir, group);
    write_status(dir, result.interrupted ? "interrupted" : "finished");
    return result;
  } catch (const std::exception& e) {
    if (fs::is_directory(dir.root)) write_status(dir, "failed", e.what());
    throw;
  }
}

namespace {

RunResult train_in(const RunConfig& cfg, const TrainOptions& original, const RunDirectory& dir,
                   const std::shared_ptr<dist::ProcessGroup>& group) {
  const bool resume = original.resume;
  const bool writer = group->rank() == 0;  // the rank that owns the run directory and the output
  TrainOptions options = original;
  options.verbose = options.verbose && writer;
  options.progress = options.progress && writer;
  options.show_summary = options.show_summary && writer;
  if (cfg.threads > 0) {
    omp_set_num_threads(cfg.threads);
  } else if (group->size() > 1) {
    // The CPUs of a host are shared by its ranks.
    const dist::LaunchInfo launch = dist::launch_from_environment();
    omp_set_num_threads(std::max(1, omp_get_max_threads() / std::max(1, launch.local_size)));
  }

  std::optional<io::LoadedCheckpoint> last;
  RunInfo recorded;
  if (resume) {
    last = as_data_error([&] { return io::load_checkpoint(dir.last_checkpoint()); });
    recorded = as_data_error([&] {
      return run_info_from_json(last->contents.extra_json, dir.last_checkpoint().string());
    });
  }
  const std::string data_dir =
      absolute_or_empty(options.data_dir.empty() ? recorded.data_dir : options.data_dir);
  LoadedData data = options.data ? *options.data : load_data(data_request(cfg, data_dir));
  // The training samples: in memory, or streamed (image files, resized images).
  data::Dataset validation = data.validation.value_or(data::Dataset{});
  std::shared_ptr<const data::Source> train_set = data.train_stream;
  if (!train_set) {
    data::Dataset in_memory = data.train;
    if (!data.validation && cfg.validation_split > 0)
      std::tie(in_memory, validation) = in_memory.split(cfg.validation_split, cfg.seed);
    train_set = std::make_shared<data::DatasetSource>(std::move(in_memory));
  }
  if (options.verbose)
    for (const auto& s : data.skipped) fmt::print(stderr, "convkit: warning: skipped {}\n", s);
  // A backbone's normalization is what its weights were trained with: it replaces the data's.
  const train::Preprocess pre =
      cfg.backbone && cfg.backbone->normalize ? *cfg.backbone->normalize : data.preprocess;
  const data::Dataset& test_set = data.test;

  auto optimizer = optim::make_optimizer(cfg.optimizer, cfg.optimizer_options);
  nn::Model model = cfg.build_model();
  check_against_data(cfg, model, *train_set, test_set);
  if (resume) {
    const std::string mismatch = model_mismatch(model, last->model);
    if (!mismatch.empty())
      throw DataError(
          fmt::format("{}: holds another model than {} describes ({}); it cannot continue this run",
                      dir.last_checkpoint().string(), dir.config().string(), mismatch));
    model = last->model;
  } else {
    cfg.initialize_model(model);  // with a backbone: its pretrained weights
  }
  if (options.show_summary && !resume) fmt::print("{}\n", model.summary());

  if (writer) {
    fs::create_directories(dir.checkpoints());
    write_status(dir, "running");
    write_text_atomic(dir.config(), cfg.resolved_yaml);
  }

  train::FitOptions fit{.epochs = cfg.epochs,
                        .batch_size = cfg.batch_size,
                        .eval_batch_size = cfg.eval_batch_size,
                        .seed = cfg.seed,
                        .schedule = cfg.schedule,
                        .label_smoothing = cfg.label_smoothing,
                        .backend = cfg.backend,
                        .preprocess = pre,
                        .augment = cfg.augment,
                        .ema_decay = cfg.ema_decay,
                        .progress = options.progress,
                        .threads = cfg.threads,
                        .loader_workers = cfg.images.workers,
                        .skip_unreadable = cfg.images.skip_bad_files};
  if (data.train_stream || cfg.images.geometry.random_crop.enabled)
    fit.geometry = cfg.images.geometry;
  fit.process_group = group;
  fit.bucket_floats = cfg.bucket_floats;
  fit.overlap_all_reduce = cfg.overlap_all_reduce;
  fit.sync_batch_norm = cfg.sync_batch_norm;
  std::string no_cache;
  if (group->size() > 1) {
    if (cfg.backbone && cfg.backbone->cache_features == "true")
      config_fail(
          "'model.backbone.cache_features' is true, but feature caching is not available in "
          "data-parallel training ({} ranks)",
          group->size());
    no_cache = "data-parallel training";
  } else {
    fit.frozen_base = cfg.frozen_base(model, no_cache);
  }
  if (options.verbose && cfg.backbone && cfg.backbone->cache_features == "auto")
    fmt::print("feature caching: {}\n", fit.frozen_base
                                            ? "on (the frozen backbone runs once per image; later "
                                              "epochs train the head on its outputs)"
                                            : "off: " + no_cache);
  if (cfg.fine_tune)  // the second phase: unfreeze from a layer on, once (resumed runs too)
    fit.before_epoch = [&cfg, started = false, &options](int epoch, nn::Model& m) mutable {
      if (started || epoch < cfg.fine_tune->epoch) return false;
      started = true;
      cfg.start_fine_tuning(m);
      if (options.verbose)
        fmt::print(
            "fine-tuning from epoch {}: layers from '{}' on train at lr x {:g} ({} "
            "trainable parameters)\n",
            epoch + 1, cfg.fine_tune->unfreeze_from, cfg.fine_tune->lr_multiplier,
            m.trainable_parameter_count());
      return true;
    };
  train::Trainer trainer(model, *optimizer, fit);  // takes the config's learning rate as the base
  if (resume) {
    io::restore_optimizer(last->contents, *optimizer);
    if (last->contents.training_weights.defined())
      trainer.resume_averaging(last->contents.training_weights);
  }

  // Callbacks: the stateful ones are saved in every checkpoint so a resumed run continues them.
  std::optional<train::EarlyStopping> early_stopping;
  std::optional<train::ReduceLROnPlateau> reduce_lr;
  std::vector<train::Callback*> stateful;
  if (cfg.early_stopping) stateful.push_back(&early_stopping.emplace(cfg.early_stopping_options));
  if (cfg.reduce_lr_on_plateau) stateful.push_back(&reduce_lr.emplace(cfg.reduce_lr_options));
  const RunInfo info{cfg.dataset, data_dir, pre, data.class_names, cfg.resolved_yaml};
  train::ModelCheckpoint checkpoint({.directory = dir.checkpoints(),
                                     .monitor = cfg.checkpoint_monitor,
                                     .every_n_epochs = cfg.checkpoint_every_n_epochs,
                                     .extra_json = run_info_to_json(info)},
                                    stateful);
  HistoryWriter history_writer(dir.history());
  train::TensorBoardCallback tensorboard(dir.root, validation.size() > 0 ? &validation : nullptr,
                                         {.enabled = cfg.tensorboard});
  std::vector<train::Callback*> callbacks = stateful;
  if (writer) {
    callbacks.push_back(&checkpoint);
    callbacks.push_back(&history_writer);
    callbacks.push_back(&tensorboard);
  }
  EpochHook hook(options.on_epoch_end);
  callbacks.push_back(&hook);
  if (resume) {
    std::vector<train::Callback*> restored = stateful;
    restored.push_back(&checkpoint);
    train::ModelCheckpoint::restore(last->contents.rng_json, trainer, restored,
                                    dir.last_checkpoint().string());
    if (trainer.state().world_size != group->size())
      config_fail(
          "--resume {}: the run was trained by {} rank(s), and this job has {}: its epochs are cut "
          "into the shards of {} ranks, so it continues only with that many (convkit train "
          "--nproc {} --resume ..., or mpirun -np {}); start a new run to train with {}",
          dir.root.string(), trainer.state().world_size, group->size(), trainer.state().world_size,
          trainer.state().world_size, trainer.state().world_size, group->size());
    if (options.verbose)
      fmt::print("resuming {} at epoch {} (step {}, batch {} of the epoch)\n", dir.root.string(),
                 trainer.epoch() + 1, trainer.step(), trainer.state().batch);
  }
  if (options.verbose)
    fmt::print(
        "training {} on {} ({} train, {} validation, {} test images), {} epochs, batch {}, {} "
        "threads{}\n",
        cfg.optimizer, cfg.dataset, train_set->size(), validation.size(), test_set.size(),
        cfg.epochs, cfg.batch_size,
        cfg.threads > 0
            ? fmt::format("{}", cfg.threads)
            : fmt::format("up to {} (shared with other processes)", omp_get_max_threads()),
        group->size() > 1 ? fmt::format(" per rank; data-parallel over {} ranks ({} images each "
                                        "per step)",
                                        group->size(), cfg.batch_size / group->size())
                          : std::string());
  std::fflush(stdout);
  train::install_interrupt_handlers();
  try {
    trainer.fit(train_set, validation.size() > 0 ? &validation : nullptr, callbacks);
  } catch (const data::SampleError& e) {  // an image that cannot be read: the data's fault
    throw DataError(fmt::format("{} (dataset.on_error: skip leaves such files out)", e.what()));
  }

  RunResult result{.dir = dir.root,
                   .epoch = trainer.epoch(),
                   .step = trainer.step(),
                   .history = trainer.history(),
                   .best_epoch = checkpoint.best_epoch(),
                   .train_seconds = trainer.train_seconds()};
  result.stopped = hook.stopped();
  result.rank = group->rank();
  result.ranks = group->size();
  if (group->size() > 1 && options.verbose && trainer.communication().steps > 0) {
    const dist::ReducerStats& c = trainer.communication();
    fmt::print(
        "all-reduce: {:.1f} MB of gradients per step in {:.1f} buckets, {:.2f} ms per step waited "
        "after backward ({})\n",
        double(c.floats) * 4 / 1e6 / double(c.steps), double(c.buckets) / double(c.steps),
        1e3 * c.wait_seconds / double(c.steps),
        cfg.overlap_all_reduce ? "overlapped with backward" : "not overlapped");
  }
  if (!writer) {  // rank 0 writes the metrics, evaluates the test set and writes the report
    result.interrupted = trainer.interrupted();
    result.signal = train::interrupted_by();
    return result;
  }
  if (trainer.interrupted()) {
    result.interrupted = true;
    result.signal = train::interrupted_by();
    return result;
  }
  const bool stopped_early = early_stopping && early_stopping->stopped_epoch() > 0;
  if (!options.evaluate_test) {
    nlohmann::json metrics = metrics_json(cfg, result, model, stopped_early, data.class_names);
    for (const char* key :
         {"test_accuracy", "test_loss", "test_top5_accuracy", "test_accuracy_without_tta", "test"})
      metrics.erase(key);
    write_text_atomic(dir.metrics(), metrics.dump(2) + "\n");
    return result;
  }

  // The test metrics of best.ckpt (what `convkit eval` on it prints). One prediction pass serves
  // metrics.json and report.html; with train.test_tta, the probabilities averaged over the
  // variants (the plain pass is reported beside them).
  train::Predictor best(io::load_checkpoint(dir.best_checkpoint()).model, pre, data.class_names,
                        {.batch_size = cfg.eval_batch_size, .backend = cfg.backend});
  const Tensor plain_probabilities = best.predict(test_set);
  const bool tta = cfg.test_tta != "none";
  const Tensor probabilities =
      tta ? predict_with_tta(best, test_set, cfg.test_tta, plain_probabilities)
          : plain_probabilities;
  result.test = train::report_from_probabilities(probabilities, test_set.labels);
  result.test_accuracy_without_tta =
      tta ? train::report_from_probabilities(plain_probabilities, test_set.labels).accuracy
          : result.test.accuracy;
  write_text_atomic(
      dir.metrics(),
      metrics_json(cfg, result, model, stopped_early, data.class_names).dump(2) + "\n");
  if (options.write_report)
    write_report(dir.root, best.model(), test_set, pre, data.class_names, {}, probabilities);
  if (options.verbose) {
    const std::string tta_note =
        tta ? fmt::format(" with test-time augmentation {} ({:.2f}% without)", cfg.test_tta,
                          100 * result.test_accuracy_without_tta)
            : "";
    fmt::print(
        "test accuracy {:.2f}%{} (loss {:.4f}) with best.ckpt from epoch {}; trained {:.1f} s; run "
        "directory {}\n",
        100 * result.test.accuracy, tta_note, result.test.loss, result.best_epoch,
        result.train_seconds, dir.root.string());
  }
  return result;
}

}  // namespace

}  // namespace convkit::run
