// Trainer: the fit / evaluate / predict loops (see trainer.h).
#include <convkit/train/trainer.h>

#include <convkit/data/loader.h>
#include <convkit/train/progress.h>
#include <convkit/train/step.h>

#include "train/feature_cache.h"
#include "train/thread_share.h"

#include <fmt/format.h>
#include <omp.h>
#include <nlohmann/json.hpp>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <cstdlib>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstring>

namespace convkit::train {

namespace {

data::LoaderOptions loader_options(const FitOptions& o, std::int64_t batch, bool shuffle,
                                   bool drop_last) {
  data::LoaderOptions l;
  l.batch_size = batch;
  l.shuffle = shuffle;
  l.seed = o.seed;
  l.drop_last = drop_last;
  l.mean = o.preprocess.mean;
  l.std = o.preprocess.std;
  return l;
}

// Counts argmax hits of logit rows against labels.
std::int64_t correct_predictions(const Tensor& logits, const Tensor& labels, std::int64_t rows) {
  const std::int64_t k = logits.dim(1);
  const float* z = logits.data<float>();
  const std::int32_t* y = labels.data<std::int32_t>();
  std::int64_t correct = 0;
  for (std::int64_t i = 0; i < rows; ++i) {
    const float* row = z + i * k;
    correct += (std::max_element(row, row + k) - row) == y[i];
  }
  return correct;
}

}  // namespace

std::string History::to_csv() const {
  // NOTE: no timings here, so the same seed on the same machine gives an identical file.
  auto cell = [](double v) { return std::isfinite(v) ? fmt::format("{:.6f}", v) : std::string(); };
  std::string out = "epoch,loss,accuracy,val_loss,val_accuracy,val_top5,val_macro_f1,lr\n";
  for (const auto& e : epochs)
    out += fmt::format("{},{},{},{},{},{},{},{:.8g}\n", e.epoch, cell(e.loss), cell(e.accuracy),
                       cell(e.val_loss), cell(e.val_accuracy), cell(e.val_top5),
                       cell(e.val_macro_f1), e.lr);
  return out;
}

Trainer::Trainer(nn::Model& model, optim::Optimizer& optimizer, FitOptions options)
    : model_(model),
      optimizer_(optimizer),
      options_(std::move(options)),
      base_lr_(optimizer.lr()),
      average_(options_.ema_decay) {  // validates the decay
  if (options_.epochs < 1) fail("train.epochs must be >= 1, got {}", options_.epochs);
  if (options_.batch_size < 1) fail("train.batch_size must be >= 1, got {}", options_.batch_size);
  optim::validate(options_.schedule);
}

Trainer::~Trainer() = default;

void Trainer::with_averaged_weights(const std::function<void(const Tensor& training_weights)>& fn) {
  if (!average_.enabled()) {
    fn(Tensor());
    return;
  }
  const auto block = model_.parameter_block();
  if (average_in_model_ || !average_.average().defined()) {
    // After fit() the roles are already exchanged; before the first step both are the same.
    if (!average_.average().defined()) average_.reset(block.params, block.numel);
    fn(average_.average());
    return;
  }
  average_.swap(block.params, block.numel);
  try {
    fn(average_.average());
  } catch (...) {
    average_.swap(block.params, block.numel);
    throw;
  }
  average_.swap(block.params, block.numel);
}

void Trainer::resume_averaging(const Tensor& training_weights) {
  const auto block = model_.parameter_block();
  if (!training_weights.defined() || training_weights.dtype() != DType::f32 ||
      training_weights.numel() != block.numel)
    fail(
        "resume: the checkpoint's training weights must be f32 with {} floats (the parameter "
        "block)",
        block.numel);
  const float* w = training_weights.data<float>();
  if (average_.enabled()) average_.reset(block.params, block.numel);
  std::copy(w, w + block.numel, block.params);
  average_in_model_ = false;
}

namespace {

std::atomic<int> g_interrupt_signal{0};

extern "C" void on_interrupt_signal(int signal) {
  g_interrupt_signal.store(signal);
  std::signal(signal, SIG_DFL);  // a second signal ends the process as usual
}

// NOTE: fault injection for the resume tests: CONVKIT_FAULT_AT_STEP="N:SIG" raises signal SIG
// (e.g. 9 = SIGKILL, 2 = SIGINT) right after optimizer step N completes, so a test can crash or
// interrupt a run at an exact, reproducible point. In a data-parallel job CONVKIT_FAULT_RANK=R
// limits it to rank R.
std::pair<std::int64_t, int> fault_injection(int rank) {
  const char* spec = std::getenv("CONVKIT_FAULT_AT_STEP");
  if (!spec) return {-1, 0};
  if (const char* only = std::getenv("CONVKIT_FAULT_RANK"); only && std::atoi(only) != rank)
    return {-1, 0};
  std::int64_t step = -1;
  int signal = 0;
  if (std::sscanf(spec, "%ld:%d", &step, &signal) != 2) return {-1, 0};
  return {step, signal};
}

}  // namespace

bool DivergenceCheck::diverged(double loss) {
  if (!std::isfinite(loss)) return true;
  if (!started_) {
    started_ = true;
    reference_ = loss;
    return false;
  }
  return loss > threshold();
}

double DivergenceCheck::threshold() const {
  return kFactor * std::max(reference_, 1.0);
}

std::string DivergenceCheck::rule() const {
  if (!started_) return "not finite";
  return fmt::format("above {:g} = {:g} x max(1, {:.4g}, the loss of the first step)", threshold(),
                     kFactor, reference_);
}

void install_interrupt_handlers() {
  g_interrupt_signal.store(0);
  std::signal(SIGINT, on_interrupt_signal);
  std::signal(SIGTERM, on_interrupt_signal);
}

int interrupted_by() {
  return g_interrupt_signal.load();
}

std::string TrainerState::to_json() const {
  nlohmann::json j{{"epoch", epoch},
                   {"step", step},
                   {"batch", batch},
                   {"epoch_loss_sum", epoch_loss_sum},
                   {"epoch_correct", epoch_correct},
                   {"epoch_seen", epoch_seen},
                   {"epoch_seconds", epoch_seconds},
                   {"lr_scale", lr_scale},
                   {"train_seconds", train_seconds},
                   {"world_size", world_size}};
  auto& h = j["history"] = nlohmann::json::array();
  auto num = [](double v) {
    return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr);
  };
  for (const auto& e : history.epochs)
    h.push_back({{"epoch", e.epoch},
                 {"loss", num(e.loss)},
                 {"accuracy", num(e.accuracy)},
                 {"val_loss", num(e.val_loss)},
                 {"val_accuracy", num(e.val_accuracy)},
                 {"val_top5", num(e.val_top5)},
                 {"val_macro_f1", num(e.val_macro_f1)},
                 {"lr", e.lr},
                 {"seconds", e.seconds},
                 {"images_per_second", e.images_per_second}});
  return j.dump();
}

TrainerState TrainerState::from_json(const std::string& text, const std::string& source) {
  TrainerState s;
  try {
    auto j = nlohmann::json::parse(text);
    s.epoch = j.at("epoch").get<int>();
    s.step = j.at("step").get<std::int64_t>();
    s.batch = j.at("batch").get<std::int64_t>();
    s.epoch_loss_sum = j.at("epoch_loss_sum").get<double>();
    s.epoch_correct = j.at("epoch_correct").get<std::int64_t>();
    s.epoch_seen = j.at("epoch_seen").get<std::int64_t>();
    s.epoch_seconds = j.at("epoch_seconds").get<double>();
    s.lr_scale = j.at("lr_scale").get<double>();
    s.train_seconds = j.at("train_seconds").get<double>();
    s.world_size = j.value("world_size", 1);  // checkpoints from before data-parallel training
    auto num = [](const nlohmann::json& v) { return v.is_null() ? double(NAN) : v.get<double>(); };
    for (const auto& e : j.at("history"))
      s.history.epochs.push_back({.epoch = e.at("epoch").get<int>(),
                                  .loss = num(e.at("loss")),
                                  .accuracy = num(e.at("accuracy")),
                                  .val_loss = num(e.at("val_loss")),
                                  .val_accuracy = num(e.at("val_accuracy")),
                                  .val_top5 = num(e.at("val_top5")),
                                  .val_macro_f1 = num(e.at("val_macro_f1")),
                                  .lr = e.at("lr").get<double>(),
                                  .seconds = e.at("seconds").get<double>(),
                                  .images_per_second = e.at("images_per_second").get<double>()});
  } catch (const nlohmann::json::exception& e) {
    fail("{}: invalid training state ({})", source, e.what());
  }
  if (s.epoch < 0 || s.step < 0 || s.batch < 0 || !(s.lr_scale > 0) || s.world_size < 1)
    fail("{}: invalid training state (epoch {}, step {}, batch {}, lr_scale {})", source, s.epoch,
         s.step, s.batch, s.lr_scale);
  return s;
}

const History& Trainer::fit(const data::Dataset& train, const data::Dataset* validation,
                            const std::vector<Callback*>& callbacks) {
  return fit(std::make_shared<data::DatasetSource>(train), validation, callbacks);
}

const History& Trainer::fit(std::shared_ptr<const data::Source> train,
                            const data::Dataset* validation,
                            const std::vector<Callback*>& callbacks) {
  if (train->size() < options_.batch_size)
    fail("the training set has {} samples, fewer than one batch of {}", train->size(),
         options_.batch_size);
  // Data-parallel: this rank's part of every global batch.
  dist::ProcessGroup* group = options_.process_group && options_.process_group->size() > 1
                                  ? options_.process_group.get()
                                  : nullptr;
  const int world = group ? group->size() : 1, rank = group ? group->rank() : 0;
  if (options_.batch_size % world != 0)
    fail(
        "train.batch_size {} does not split evenly among {} ranks (it is the global batch: each "
        "rank takes batch_size / ranks samples of it)",
        options_.batch_size, world);
  const std::int64_t local_batch = options_.batch_size / world;
  if (group && options_.frozen_base)
    fail(
        "feature caching (model.backbone.cache_features) is not available in data-parallel "
        "training; turn it off");
  if (state_.step > 0 && state_.world_size != world)
    fail(
        "this run was trained by {} rank(s) and is resumed by {}: its epochs are split into the "
        "shards of {} ranks, so it continues only with {} (mpirun -np {} ... --resume); to go on "
        "with {}, start a new run",
        state_.world_size, world, state_.world_size, state_.world_size, state_.world_size, world);
  state_.world_size = world;
  const bool show_progress = options_.progress && rank == 0;
  data::Mixer mixer(options_.augment, options_.seed);
  const std::vector<std::int32_t> cache_labels =
      options_.frozen_base ? train->labels() : std::vector<std::int32_t>{};
  auto compile = [&] {
    nn::Model& trained = options_.frozen_base ? options_.frozen_base->head : model_;
    nn::TrainingOptions compile_options{.batch = local_batch,
                                        .label_smoothing = options_.label_smoothing,
                                        .class_weights = options_.class_weights,
                                        .backend = options_.backend,
                                        .soft_targets = mixer.enabled(),
                                        .threads = options_.threads};
    if (group && options_.sync_batch_norm)
      compile_options.batch_sums = [group](std::span<double> sums) { group->all_reduce_sum(sums); };
    return trained.compile_training(compile_options);
  };
  nn::Plan plan = compile();
  // Sharing the CPUs (options_.threads == 0): the team size follows what other processes leave.
  const int caller_threads = omp_get_max_threads();
  std::optional<ThreadShare> share;
  if (options_.threads == 0)
    share.emplace(ThreadShare::Options{.max_threads = caller_threads, .cpus = available_cpus()});
  struct RestoreThreads {
    int threads;
    ~RestoreThreads() {
      if (omp_get_max_threads() != threads) omp_set_num_threads(threads);
    }
  } restore_threads{caller_threads};
  std::vector<int> partner(static_cast<std::size_t>(local_batch));
  std::vector<float> lambda(static_cast<std::size_t>(local_batch));
  // The dropout masks of step s depend on s alone: a resumed plan continues the sequence.
  plan.set_step(std::uint64_t(state_.step));
  // NOTE: the last partial batch of an epoch is dropped (the plan has one batch size); with
  // per-epoch shuffling every sample is still seen.
  data::LoaderOptions train_loading = loader_options(options_, local_batch, true, true);
  train_loading.shard = rank;
  train_loading.shards = world;
  if (data::augments(options_.augment)) {
    data::AugmentOptions augment = options_.augment;
    // NOTE: one thread: the hook runs in the loader's worker beside the step's OpenMP threads.
    if (augment.threads == 0) augment.threads = 1;
    train_loading.augment = data::make_augmenter(augment, options_.seed, options_.preprocess.mean,
                                                 options_.preprocess.std);
  }
  train_loading.workers = options_.loader_workers;
  train_loading.geometry = options_.geometry;
  train_loading.skip_unreadable = options_.skip_unreadable;
  const std::int64_t train_size = train->size();
  const std::shared_ptr<const data::Source> train_source = train;
  data::Loader loader(std::move(train), train_loading);
  std::optional<FeatureCache> cache;
  if (options_.frozen_base) {
    if (mixer.enabled() || data::augments(options_.augment) || average_.enabled())
      fail(
          "feature caching needs training images that do not change between epochs (no "
          "augmentation, mixup/cutmix or weight averaging)");
    cache.emplace(*options_.frozen_base, model_, train_size, options_.batch_size, options_.backend,
                  cache_labels);
    cache->from_full_model();
  }
  Tensor cached_labels = Tensor::empty({options_.batch_size}, DType::i32);
  std::vector<std::int64_t> order;
  std::size_t skipped_reported = 0;
  const std::int64_t steps_per_epoch = loader.batches_per_epoch();
  const std::int64_t total_steps = steps_per_epoch * options_.epochs;
  const auto [fault_step, fault_signal] = fault_injection(rank);
  const optim::ParamBlock weights = model_.parameter_block();
  // Data-parallel: every rank starts from rank 0's weights and reduces gradients in backward.
  std::optional<dist::GradientReducer> reducer;
  auto hook_reducer = [&] {
    reducer->bind(plan.parameter_block());
    plan.set_gradient_ready_hook(reducer->hook());
  };
  if (group) {
    group->broadcast(std::span<float>(weights.params, std::size_t(weights.numel)), 0);
    reducer.emplace(options_.process_group,
                    dist::ReducerOptions{.bucket_floats = options_.bucket_floats,
                                         .overlap = options_.overlap_all_reduce});
    hook_reducer();
  }
  // The job's figures of one step: loss x samples, hits, samples, and whether a rank was
  // interrupted (reduced during backward, so every rank sees the same).
  std::array<double, 4> step_figures{};
  if (average_in_model_)
    average_.swap(weights.params, weights.numel);  // continue from the training weights
  average_in_model_ = false;
  if (average_.enabled() && !average_.average().defined())
    average_.reset(weights.params, weights.numel);
  // Data-parallel validation: each rank scores its contiguous share, the counts are summed.
  std::optional<data::Dataset> validation_shard;
  if (group && validation && validation->size() > 0) {
    const std::int64_t n = validation->size();
    std::vector<std::int64_t> rows;
    for (std::int64_t i = n * rank / world; i < n * (rank + 1) / world; ++i) rows.push_back(i);
    validation_shard = validation->subset(rows);
  }
  stop_ = false;
  interrupted_ = false;
  DivergenceCheck divergence;
  for (auto* c : callbacks) c->on_train_begin(*this);
  while (state_.epoch < options_.epochs && !stop_) {
    if (options_.before_epoch && options_.before_epoch(state_.epoch, model_)) {
      plan = compile();  // what trains changed: new kernels (weight gradients) and memory plan
      plan.set_step(std::uint64_t(state_.step));
      if (reducer) hook_reducer();
    }
    const bool from_cache = cache && cache->complete();  // no images needed this epoch
    if (from_cache)
      loader.epoch_order(state_.epoch, order);
    else
      loader.set_position(state_.epoch, state_.batch);
    if (state_.batch == 0) {
      state_.epoch_loss_sum = 0;
      state_.epoch_correct = state_.epoch_seen = 0;
      state_.epoch_seconds = 0;
    }
    ProgressBar bar(fmt::format("epoch {}/{}", state_.epoch + 1, options_.epochs), steps_per_epoch);
    auto start = std::chrono::steady_clock::now();
    auto elapsed = [&] {
      return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    };
    double lr = optimizer_.lr();
    while (true) {
      // The batch: from the loader (images, or the base's features of them), or from the cache.
      const Tensor* labels = &cached_labels;
      std::optional<data::BatchView> batch;
      if (from_cache) {
        if (state_.batch >= steps_per_epoch) break;
        const std::span<const std::int64_t> rows(order.data() + state_.batch * options_.batch_size,
                                                 std::size_t(options_.batch_size));
        cache->gather(rows, plan.input(), cached_labels);
      } else {
        auto next = loader.next();
        if (!next) break;
        batch.emplace(*next);
        labels = &batch->labels;
        if (cache)
          cache->features(*batch, plan.input());
        else
          plan.input().copy_from(batch->images);
      }
      lr = state_.lr_scale * optim::learning_rate(options_.schedule, base_lr_, state_.step,
                                                  steps_per_epoch, total_steps);
      optimizer_.set_lr(lr);
      if (mixer.enabled()) {
        mixer.apply(plan.input(), std::uint64_t(state_.epoch), std::uint64_t(state_.batch), partner,
                    lambda);
        data::mix_targets(*labels, partner, lambda, int(plan.labels().dim(1)), plan.labels());
      } else {
        plan.labels().copy_from(*labels);
      }
      float loss = 0;
      std::int64_t correct = 0, seen = labels->numel();
      bool interrupt = false;
      if (reducer) {
        plan.forward();
        correct = correct_predictions(plan.output(), *labels, seen);
        step_figures = {double(plan.loss()) * double(seen), double(correct), double(seen),
                        interrupted_by() != 0 ? 1.0 : 0.0};
        group->start_all_reduce_sum(std::span<double>(step_figures));
        reducer->begin_step(double(seen) / double(options_.batch_size));
        plan.backward();
        reducer->finish_step();  // also completes step_figures
        optimizer_.step(plan.parameter_block());
        loss = float(step_figures[0] / step_figures[2]);
        correct = std::int64_t(step_figures[1]);
        seen = std::int64_t(step_figures[2]);
        interrupt = step_figures[3] > 0;
      } else {
        loss = cache ? cache->train_step(plan, optimizer_) : train_step(plan, optimizer_);
        correct = correct_predictions(plan.output(), *labels, seen);
      }
      if (divergence.diverged(loss))
        fail(
            "training diverged: the loss became {} at epoch {}, step {} ({}; learning rate {:g}); "
            "the last "
            "checkpoint is from before; try a lower learning rate or gradient clipping",
            loss, state_.epoch + 1, state_.step + 1, divergence.rule(), lr);
      if (share)
        if (auto decision = share->after_step()) {
          if (!plan.set_threads(decision->threads)) {
            share->disable();
          } else {
            omp_set_num_threads(decision->threads);  // the mixer and plans compiled later follow
            if (!decision->note.empty() && show_progress) bar.note(decision->note);
          }
        }
      ++state_.step;
      ++state_.batch;
      average_.update(weights.params, weights.numel, state_.step);
      state_.epoch_loss_sum += loss;
      state_.epoch_correct += correct;
      state_.epoch_seen += seen;
      if (show_progress)
        bar.update(state_.batch, state_.epoch_seen,
                   {{"loss", state_.epoch_loss_sum / double(state_.batch)},
                    {"acc", double(state_.epoch_correct) / double(state_.epoch_seen)}});
      if (state_.step == fault_step) std::raise(fault_signal);
      // One process stops at the signal; a job at the step where the ranks learn of it together.
      if (reducer ? interrupt : interrupted_by() != 0) {
        state_.epoch_seconds += elapsed();
        if (reducer) communication_ = reducer->stats();
        interrupted_ = true;
        for (auto* c : callbacks) c->on_interrupt(*this);
        return state_.history;
      }
    }
    if (cache && !cache->complete() && !interrupted_) {
      // The samples the epoch's last partial batch left out: cached now, so the next epoch
      // needs no image at all.
      const std::vector<std::int64_t> rest = cache->missing();
      data::LoaderOptions fill = loader_options(options_, options_.batch_size, false, false);
      fill.workers = options_.loader_workers;
      fill.geometry = options_.geometry;
      fill.skip_unreadable = options_.skip_unreadable;
      data::Loader extra(std::make_shared<data::SubsetSource>(train_source, rest), fill);
      extra.start_epoch(0);
      while (auto b = extra.next()) cache->features(*b, rest);
    }
    // Weights (and batch-norm statistics, which each rank gathers from its own shard) as rank 0
    // has them, so validation, checkpoints and decisions agree bit for bit.
    if (group) group->broadcast(std::span<float>(weights.params, std::size_t(weights.numel)), 0);
    const double seconds = state_.epoch_seconds + elapsed();
    state_.train_seconds += seconds;
    ++state_.epoch;
    const std::int64_t batches = std::max<std::int64_t>(state_.batch, 1);
    EpochLog log{.epoch = state_.epoch,
                 .loss = state_.epoch_loss_sum / double(batches),
                 .accuracy = double(state_.epoch_correct) /
                             double(std::max<std::int64_t>(state_.epoch_seen, 1)),
                 .lr = lr,
                 .seconds = seconds,
                 .images_per_second = double(state_.epoch_seen) / std::max(seconds, 1e-9)};
    state_.batch = 0;
    MetricList shown{{"loss", log.loss}, {"acc", log.accuracy}};
    if (validation && validation->size() > 0) {
      ClassificationReport report;
      with_averaged_weights([&](const Tensor&) {
        if (!validation_shard) {
          report = evaluate(*validation);
          return;
        }
        MetricAccumulator metrics(validation->num_classes, 5);
        if (validation_shard->size() > 0) predictor().evaluate_into(*validation_shard, metrics);
        metrics.reduce([group](std::span<double> v) { group->all_reduce_sum(v); });
        report = metrics.report();
      });
      log.val_loss = report.loss;
      log.val_accuracy = report.accuracy;
      log.val_top5 = report.top_k_accuracy;
      log.val_macro_f1 = report.macro.f1;
      shown.push_back({"val_loss", log.val_loss});
      shown.push_back({"val_acc", log.val_accuracy});
    }
    if (show_progress) bar.finish(state_.epoch_seen, shown);
    const std::vector<std::string> skipped = loader.skipped();
    for (; skipped_reported < skipped.size(); ++skipped_reported)
      fmt::print(stderr, "convkit: warning: skipped an unreadable image: {}\n",
                 skipped[skipped_reported]);
    state_.history.epochs.push_back(log);
    for (auto* c : callbacks) c->on_epoch_end(*this, log);
  }
  if (reducer) communication_ = reducer->stats();
  predictor_.reset();  // the validation plans are not needed after training (their memory is freed)
  if (average_
          .enabled()) {  // leave the averaged weights in the model (restored when fit() continues)
    average_.swap(weights.params, weights.numel);
    average_in_model_ = true;
  }
  for (auto* c : callbacks) c->on_train_end(*this, state_.history);
  return state_.history;
}

Predictor& Trainer::predictor() {
  if (!predictor_)
    predictor_.emplace(Predictor::borrowing(
        model_, options_.preprocess, {},
        {.batch_size = options_.eval_batch_size, .backend = options_.backend}));
  return *predictor_;
}

ClassificationReport Trainer::evaluate(const data::Dataset& dataset) {
  return predictor().evaluate(dataset);
}

Tensor Trainer::predict(const data::Dataset& dataset,
                        const std::function<void(const Tensor&)>& transform) {
  return predictor().predict(dataset, transform);
}

Tensor Trainer::predict_images(const Tensor& images) {
  return predictor().predict(images);
}

}  // namespace convkit::train
