// Built-in callbacks (see callbacks.h).
#include <convkit/train/callbacks.h>

#include <convkit/io/checkpoint.h>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <cstring>

namespace convkit::train {

namespace {
bool minimizing(const Monitor& m) {
  if (m.mode == "min") return true;
  if (m.mode == "max") return false;
  return m.metric.find("loss") != std::string::npos;
}
nlohmann::json number(double v) {
  return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr);
}
double number(const nlohmann::json& j, double fallback) {
  return j.is_null() ? fallback : j.get<double>();
}
}  // namespace

void Monitor::validate(const std::string& key) const {
  if (metric != "loss" && metric != "accuracy" && metric != "val_loss" && metric != "val_accuracy")
    fail("{}.monitor: unknown metric '{}' (expected loss, accuracy, val_loss, val_accuracy)", key,
         metric);
  if (mode != "auto" && mode != "min" && mode != "max")
    fail("{}.mode: expected auto, min or max, got '{}'", key, mode);
  if (!(min_delta >= 0)) fail("{}.min_delta must be >= 0, got {}", key, min_delta);
}

double Monitor::value(const EpochLog& log) const {
  double v = metric == "loss"       ? log.loss
             : metric == "accuracy" ? log.accuracy
             : metric == "val_loss" ? log.val_loss
                                    : log.val_accuracy;
  if (!std::isfinite(v))
    fail("the monitored metric '{}' is not available{}", metric,
         metric.starts_with("val_")
             ? " (set dataset.validation_split to monitor validation metrics)"
             : "");
  return v;
}

bool Monitor::improved(double value, double best) const {
  return minimizing(*this) ? value < best - min_delta : value > best + min_delta;
}

double Monitor::worst() const {
  return minimizing(*this) ? INFINITY : -INFINITY;
}

// ---- EarlyStopping ----

EarlyStopping::EarlyStopping(EarlyStoppingOptions options)
    : o_(std::move(options)), best_(o_.monitor.worst()) {
  o_.monitor.validate("callbacks.early_stopping");
  if (o_.patience < 0) fail("callbacks.early_stopping.patience must be >= 0, got {}", o_.patience);
}

// The weights validation measured: the averaged ones when the trainer averages weights.
void EarlyStopping::keep_weights(Trainer& trainer) {
  trainer.with_averaged_weights([&](const Tensor&) {
    auto block = trainer.model().parameter_block();
    best_weights_.assign(block.params, block.params + block.numel);
  });
}

void EarlyStopping::on_train_begin(Trainer& trainer) {
  if (o_.restore_best_weights && best_weights_.empty() && best_epoch_ > 0) {
    // Resumed without the best weights in memory: the current weights are the best known.
    keep_weights(trainer);
  }
}

void EarlyStopping::on_epoch_end(Trainer& trainer, const EpochLog& log) {
  const double v = o_.monitor.value(log);
  if (o_.monitor.improved(v, best_)) {
    best_ = v;
    best_epoch_ = log.epoch;
    wait_ = 0;
    if (o_.restore_best_weights) {
      keep_weights(trainer);
    }
    return;
  }
  if (++wait_ > o_.patience) {
    stopped_epoch_ = log.epoch;
    trainer.request_stop();
  }
}

void EarlyStopping::on_train_end(Trainer& trainer, const History&) {
  if (stopped_epoch_ == 0 || !o_.restore_best_weights || best_weights_.empty()) return;
  auto block = trainer.model().parameter_block();
  if (std::int64_t(best_weights_.size()) == block.numel)
    std::memcpy(block.params, best_weights_.data(), best_weights_.size() * sizeof(float));
}

std::string EarlyStopping::state_json() const {
  return nlohmann::json{{"best", number(best_)}, {"best_epoch", best_epoch_}, {"wait", wait_}}
      .dump();
}

void EarlyStopping::load_state_json(const std::string& text) {
  auto j = nlohmann::json::parse(text);
  best_ = number(j.at("best"), o_.monitor.worst());
  best_epoch_ = j.at("best_epoch").get<int>();
  wait_ = j.at("wait").get<int>();
}

// ---- ReduceLROnPlateau ----

ReduceLROnPlateau::ReduceLROnPlateau(ReduceLROnPlateauOptions options)
    : o_(std::move(options)), best_(o_.monitor.worst()) {
  o_.monitor.validate("callbacks.reduce_lr_on_plateau");
  if (!(o_.factor > 0 && o_.factor < 1))
    fail("callbacks.reduce_lr_on_plateau.factor must be in (0, 1), got {}", o_.factor);
  if (o_.patience < 0)
    fail("callbacks.reduce_lr_on_plateau.patience must be >= 0, got {}", o_.patience);
  if (o_.cooldown < 0)
    fail("callbacks.reduce_lr_on_plateau.cooldown must be >= 0, got {}", o_.cooldown);
  if (!(o_.min_lr >= 0))
    fail("callbacks.reduce_lr_on_plateau.min_lr must be >= 0, got {}", o_.min_lr);
}

void ReduceLROnPlateau::on_train_begin(Trainer&) {}

void ReduceLROnPlateau::on_epoch_end(Trainer& trainer, const EpochLog& log) {
  const double v = o_.monitor.value(log);
  if (cooldown_left_ > 0) {
    --cooldown_left_;
    wait_ = 0;
  }
  if (o_.monitor.improved(v, best_)) {
    best_ = v;
    wait_ = 0;
    return;
  }
  if (cooldown_left_ > 0) return;
  if (++wait_ > o_.patience) {
    const double lr = trainer.current_lr();
    if (lr > o_.min_lr) {
      const double target = std::max(lr * o_.factor, o_.min_lr);
      trainer.set_lr_scale(trainer.lr_scale() * target / lr);
    }
    cooldown_left_ = o_.cooldown;
    wait_ = 0;
  }
}

std::string ReduceLROnPlateau::state_json() const {
  return nlohmann::json{{"best", number(best_)}, {"wait", wait_}, {"cooldown_left", cooldown_left_}}
      .dump();
}

void ReduceLROnPlateau::load_state_json(const std::string& text) {
  auto j = nlohmann::json::parse(text);
  best_ = number(j.at("best"), o_.monitor.worst());
  wait_ = j.at("wait").get<int>();
  cooldown_left_ = j.at("cooldown_left").get<int>();
}

// ---- ModelCheckpoint ----

ModelCheckpoint::ModelCheckpoint(ModelCheckpointOptions options, std::vector<Callback*> stateful)
    : o_(std::move(options)), stateful_(std::move(stateful)), best_(o_.monitor.worst()) {
  o_.monitor.validate("callbacks.checkpoint");
  if (o_.every_n_epochs < 0)
    fail("callbacks.checkpoint.every_n_epochs must be >= 0, got {}", o_.every_n_epochs);
}

void ModelCheckpoint::on_train_begin(Trainer&) {
  std::filesystem::create_directories(o_.directory);
}

std::string ModelCheckpoint::resume_json(const Trainer& trainer,
                                         const std::vector<Callback*>& callbacks) {
  nlohmann::json j{{"trainer", nlohmann::json::parse(trainer.state().to_json())}};
  for (const auto* c : callbacks)
    j["callbacks"][c->name()] = nlohmann::json::parse(c->state_json());
  return j.dump();
}

void ModelCheckpoint::restore(const std::string& text, Trainer& trainer,
                              const std::vector<Callback*>& callbacks, const std::string& source) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text);
    trainer.set_state(TrainerState::from_json(j.at("trainer").dump(), source));
    for (auto* c : callbacks)
      if (j.contains("callbacks") && j["callbacks"].contains(c->name()))
        c->load_state_json(j["callbacks"][c->name()].dump());
  } catch (const nlohmann::json::exception& e) {
    fail("{}: cannot resume from this checkpoint ({})", source, e.what());
  }
}

void ModelCheckpoint::save(Trainer& trainer, const std::filesystem::path& path) {
  io::CheckpointContents contents;
  contents.epoch = trainer.epoch();
  io::capture_optimizer(trainer.optimizer(), contents);
  std::vector<Callback*> all = stateful_;
  all.push_back(this);
  contents.rng_json = resume_json(trainer, all);
  contents.extra_json = o_.extra_json;
  // With weight averaging the checkpoint's model is the average (what eval and export use);
  // the weights training continues from travel as training_weights.
  trainer.with_averaged_weights([&](const Tensor& training_weights) {
    contents.training_weights = training_weights;
    io::save_checkpoint(path, trainer.model(), contents);
  });
}

void ModelCheckpoint::on_epoch_end(Trainer& trainer, const EpochLog& log) {
  const double v = o_.monitor.value(log);
  const bool best = best_epoch_ == 0 || o_.monitor.improved(v, best_);
  if (best) {
    best_ = v;
    best_epoch_ = log.epoch;
  }
  save(trainer, o_.directory / "last.ckpt");  // state includes the updated best
  if (best) save(trainer, o_.directory / "best.ckpt");
  if (o_.every_n_epochs > 0 && log.epoch % o_.every_n_epochs == 0)
    save(trainer, o_.directory / fmt::format("epoch-{}.ckpt", log.epoch));
}

void ModelCheckpoint::on_interrupt(Trainer& trainer) {
  save(trainer, o_.directory / "last.ckpt");
}

std::string ModelCheckpoint::state_json() const {
  return nlohmann::json{{"best", number(best_)}, {"best_epoch", best_epoch_}}.dump();
}

void ModelCheckpoint::load_state_json(const std::string& text) {
  auto j = nlohmann::json::parse(text);
  best_ = number(j.at("best"), o_.monitor.worst());
  best_epoch_ = j.at("best_epoch").get<int>();
}

}  // namespace convkit::train
