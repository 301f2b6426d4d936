// RunConfig loading, overrides and validation (see config.h).
#include <convkit/run/config.h>

#include <convkit/run/tta.h>
#include "run/augment_config.h"
#include "run/config_backbone.h"
#include "run/config_layers.h"
#include "run/image_data_config.h"
#include "run/yaml_section.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <sstream>
#include <tuple>

namespace convkit::run {

namespace {

// Applies "a.b.0.c=value" to the document. Sequence entries are addressed by index; the value is
// parsed as YAML (so 3, 0.1, true, [1, 28, 28] keep their types). Keys are checked by the
// strict parse that follows, which names any unknown key.
void apply_set(YAML::Node root, const std::string& assignment) {
  const auto eq = assignment.find('=');
  if (eq == std::string::npos || eq == 0)
    config_fail("--set '{}': expected key=value, e.g. train.epochs=3", assignment);
  const std::string path = assignment.substr(0, eq), text = assignment.substr(eq + 1);
  YAML::Node value;
  try {
    value = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    config_fail("--set {}: the value '{}' is not valid YAML ({})", path, text, e.msg);
  }
  std::vector<std::string> parts;
  std::stringstream ss(path);
  for (std::string p; std::getline(ss, p, '.');) {
    if (p.empty()) config_fail("--set '{}': empty key segment", assignment);
    parts.push_back(p);
  }
  std::vector<YAML::Node> chain{root};
  for (std::size_t i = 0; i + 1 < parts.size(); ++i) {
    YAML::Node cur = chain.back();
    const auto& p = parts[i];
    if (cur.IsSequence()) {
      std::size_t idx = 0;
      try {
        idx = std::stoul(p);
      } catch (...) {
        config_fail("--set {}: '{}' is a list; index it with a number", path, p);
      }
      if (idx >= cur.size())
        config_fail("--set {}: index {} is out of range (the list has {} entries)", path, idx,
                    cur.size());
      chain.push_back(cur[idx]);
    } else {
      if (cur.IsScalar())
        config_fail("--set {}: '{}' is a value, not a section", path, parts[i - 1]);
      chain.push_back(cur[p]);
    }
  }
  YAML::Node parent = chain.back();
  if (parent.IsSequence()) {
    std::size_t idx = std::stoul(parts.back());
    if (idx >= parent.size()) config_fail("--set {}: index {} is out of range", path, idx);
    parent[idx] = value;
  } else {
    parent[parts.back()] = value;
  }
}

// Deep merge: keys of `over` replace those of `base`; mappings merge recursively, lists replace.
YAML::Node merge(const YAML::Node& base, const YAML::Node& over) {
  if (!over || over.IsNull()) return YAML::Clone(base);
  if (!base || !base.IsMap() || !over.IsMap()) return YAML::Clone(over);
  YAML::Node out = YAML::Clone(base);
  for (const auto& item : over) {
    const auto key = YamlSection::key_of(item.first, "config");
    out[key] = merge(base[key], item.second);
  }
  return out;
}

YAML::Node load_yaml(const std::string& text, const std::string& source) {
  try {
    YAML::Node node = YAML::Load(text);
    if (node && !node.IsNull() && !node.IsMap())
      config_fail("{}: the config must be a YAML mapping", source);
    return node;
  } catch (const YAML::Exception& e) {
    config_fail("{}: invalid YAML at line {}, column {}: {}", source, e.mark.line + 1,
                e.mark.column + 1, e.msg);
  }
}

// Whom to blame for a ConfigError: the --set override whose key the message names, else the file.
std::string blame(std::string message, const std::string& source,
                  const std::vector<std::string>& sets) {
  for (std::size_t open;
       (open = message.find('[')) != std::string::npos;) {  // layers[3] -> layers.3
    const std::size_t close = message.find(']', open);
    if (close == std::string::npos) break;
    message = message.substr(0, open) + "." + message.substr(open + 1, close - open - 1) +
              message.substr(close + 1);
  }
  for (auto it = sets.rbegin(); it != sets.rend(); ++it) {
    const std::string key = it->substr(0, it->find('='));
    if (!key.empty() &&
        (message.find("'" + key + "'") != std::string::npos ||
         message.find("'" + key + ".") != std::string::npos || message.find(key + ":") == 0))
      return "--set " + *it;
  }
  return source;
}

RunConfig parse(YAML::Node doc, const std::string& source,
                const std::vector<std::string>& sets = {}) {
  RunConfig c;
  try {
    YamlSection root(doc, "");
    auto dataset = root.child("dataset");
    c.dataset = dataset.get<std::string>("name", c.dataset);
    c.validation_split = dataset.get<double>("validation_split", 0.0);
    if (c.validation_split < 0 || c.validation_split >= 1)
      config_fail("'dataset.validation_split' must be in [0, 1), got {}", c.validation_split);
    c.train_samples = dataset.get<std::int64_t>("train_samples", 0);
    c.per_class = dataset.get<std::int64_t>("per_class", 0);
    if (c.per_class < 0)
      config_fail("'dataset.per_class' must be >= 0 (0: every training image), got {}",
                  c.per_class);
    c.test_samples = dataset.get<std::int64_t>("test_samples", 0);
    if (c.train_samples < 0 || c.test_samples < 0)
      config_fail("'dataset.train_samples' and 'dataset.test_samples' must be >= 0");
    auto augment = dataset.child("augment");
    c.augment = parse_augment(augment);
    parse_image_data(dataset, c.images);
    dataset.finish();

    auto model = root.child("model");
    if (model.has("backbone")) {
      if (model.has("zoo") || model.has("layers"))
        config_fail(
            "'model.backbone' takes its new layers as 'model.head'; 'model.zoo' and "
            "'model.layers' do not go with it");
      auto backbone = model.child("backbone");
      c.backbone = parse_backbone(backbone, source);
      doc["model"]["backbone"]["onnx"] = c.backbone->onnx;  // the resolved config: absolute
      if (!model.has("input")) {                            // the file's own input size
        const io::OnnxInfo info =
            as_onnx_error([&] { return io::read_onnx_info(c.backbone->onnx); });
        if (info.input_shape.rank() == 0)
          config_fail("'model.input' is required: {}'s input size is symbolic", c.backbone->onnx);
        std::vector<std::int64_t> dims = info.input_shape.dims();
        doc["model"]["input"] = dims;
      }
    }
    auto input = model.required<std::vector<std::int64_t>>("input");
    for (auto d : input)
      if (d <= 0) config_fail("'model.input' dimensions must be positive, got {}", d);
    c.input = Shape(input);
    if (c.input.rank() == 3) {  // the sample size images are brought to
      c.images.geometry.channels = c.input[0];
      c.images.geometry.height = c.input[1];
      c.images.geometry.width = c.input[2];
    }
    if (model.has("zoo")) {
      if (model.has("layers"))
        config_fail(
            "'model.zoo' and 'model.layers' exclude each other (a zoo model has its own "
            "layers): give one");
      c.zoo = parse_zoo_model(model, input);
    } else if (c.backbone) {
      c.layers = parse_layers(model.raw("head"), "model.head");
    } else {
      c.layers = parse_layers(model.raw("layers"), "model.layers");
    }
    model.finish();

    auto train = root.child("train");
    c.epochs = train.get<int>("epochs", c.epochs);
    if (c.epochs < 1) config_fail("'train.epochs' must be >= 1, got {}", c.epochs);
    c.batch_size = train.get<std::int64_t>("batch_size", c.batch_size);
    if (c.batch_size < 1) config_fail("'train.batch_size' must be >= 1, got {}", c.batch_size);
    c.eval_batch_size = train.get<std::int64_t>("eval_batch_size", c.eval_batch_size);
    if (c.eval_batch_size < 1)
      config_fail("'train.eval_batch_size' must be >= 1, got {}", c.eval_batch_size);
    c.seed = train.get<std::uint64_t>("seed", c.seed);
    c.threads = train.get<int>("threads", 0);
    if (c.threads < 0) config_fail("'train.threads' must be >= 0, got {}", c.threads);
    c.backend = train.get<std::string>("backend", c.backend);
    if (c.backend != "cpu" && c.backend != "reference")
      config_fail("'train.backend' must be cpu or reference, got '{}'", c.backend);
    c.label_smoothing = train.get<double>("label_smoothing", 0.0);
    if (c.label_smoothing < 0 || c.label_smoothing >= 1)
      config_fail("'train.label_smoothing' must be in [0, 1), got {}", c.label_smoothing);
    c.ema_decay = train.get<double>("ema_decay", 0.0);
    if (!(c.ema_decay >= 0 && c.ema_decay < 1))
      config_fail("'train.ema_decay' must be in [0, 1) (0 = off, typical 0.999), got {}",
                  c.ema_decay);
    {
      // Data-parallel training (used when launched as several ranks; see dist/).
      auto distributed = train.child("distributed");
      const double mb = distributed.get<double>("bucket_mb", double(c.bucket_floats) * 4 / 1e6);
      if (!(mb > 0 && mb <= 1024))
        config_fail("'train.distributed.bucket_mb' must be in (0, 1024], got {}", mb);
      c.bucket_floats = std::max<std::int64_t>(1, std::int64_t(mb * 1e6 / 4));
      c.overlap_all_reduce = distributed.get<bool>("overlap", true);
      c.sync_batch_norm = distributed.get<bool>("sync_batch_norm", false);
      c.distributed_timeout = distributed.get<double>("timeout_s", c.distributed_timeout);
      if (!(c.distributed_timeout >= 0))
        config_fail("'train.distributed.timeout_s' must be >= 0 (0 = wait forever), got {}",
                    c.distributed_timeout);
      distributed.finish();
    }
    c.test_tta = train.get<std::string>("test_tta", c.test_tta);
    if (std::find(tta_modes().begin(), tta_modes().end(), c.test_tta) == tta_modes().end())
      config_fail("'train.test_tta' must be none, shift, flip or shift+flip, got '{}'", c.test_tta);
    c.tensorboard = train.get<bool>("tensorboard", true);

    if (train.has("fine_tune")) {
      auto ft = train.child("fine_tune");
      RunConfig::FineTune f{.epoch = ft.required<int>("epoch"),
                            .unfreeze_from = ft.required<std::string>("unfreeze_from"),
                            .lr_multiplier = ft.get<double>("lr_multiplier", 1.0)};
      if (f.epoch < 1 || f.epoch >= c.epochs)
        config_fail("'train.fine_tune.epoch' must be in [1, train.epochs - 1] = [1, {}], got {}",
                    c.epochs - 1, f.epoch);
      if (!(f.lr_multiplier >= 0) || !std::isfinite(f.lr_multiplier))
        config_fail("'train.fine_tune.lr_multiplier' must be a finite number >= 0, got {}",
                    f.lr_multiplier);
      ft.finish();
      c.fine_tune = f;
    }
    YAML::Node groups = train.raw("param_groups");
    if (groups && !groups.IsNull()) {
      if (!groups.IsSequence())
        config_fail(
            "'train.param_groups' must be a list like [{{layers: \"conv*\", lr_multiplier: 0.1}}]");
      for (std::size_t i = 0; i < groups.size(); ++i) {
        YamlSection g(groups[i], fmt::format("train.param_groups.{}", i));
        RunConfig::ParamGroup group{.layers = g.required<std::string>("layers")};
        if (g.has("trainable")) group.trainable = g.get<bool>("trainable", true);
        if (g.has("lr_multiplier")) {
          group.lr_multiplier = g.get<double>("lr_multiplier", 1.0);
          if (!(*group.lr_multiplier >= 0) || !std::isfinite(*group.lr_multiplier))
            config_fail("'{}' must be a finite number >= 0, got {}", g.path_of("lr_multiplier"),
                        *group.lr_multiplier);
        } else {
          g.get<double>("lr_multiplier", 1.0);  // mark as known
        }
        g.get<bool>("trainable", true);
        g.finish();
        if (!group.trainable && !group.lr_multiplier)
          config_fail("'train.param_groups.{}' sets neither trainable nor lr_multiplier", i);
        c.param_groups.push_back(std::move(group));
      }
    }
    YAML::Node opt = train.raw("optimizer");
    if (opt && opt.IsMap()) {
      for (const auto& item : opt) {
        const auto key = YamlSection::key_of(item.first, "train.optimizer");
        const auto path = "train.optimizer." + key;
        if (key == "type")
          c.optimizer = YamlSection::as<std::string>(item.second, path);
        else if (item.second.IsScalar() &&
                 (item.second.Scalar() == "true" || item.second.Scalar() == "false"))
          c.optimizer_options.push_back(
              {key, YamlSection::as<bool>(item.second, path) ? 1.0 : 0.0});
        else
          c.optimizer_options.push_back({key, YamlSection::as<double>(item.second, path)});
      }
    } else if (opt && !opt.IsNull()) {
      config_fail("'train.optimizer' must be a mapping like {{type: adam, lr: 0.001}}");
    }
    try {
      optim::make_optimizer(c.optimizer, c.optimizer_options);  // validates names, keys and ranges
    } catch (const ConfigError&) {
      throw;
    } catch (const Error& e) {
      config_fail("train.optimizer: {}", e.what());
    }

    auto sched = train.child("schedule");
    c.schedule.type = sched.get<std::string>("type", "constant");
    c.schedule.gamma = sched.get<double>("gamma", c.schedule.gamma);
    c.schedule.step_epochs = sched.get<double>("step_epochs", c.schedule.step_epochs);
    c.schedule.milestones = sched.get<std::vector<double>>("milestones", {});
    c.schedule.min_lr = sched.get<double>("min_lr", 0.0);
    c.schedule.pct_start = sched.get<double>("pct_start", c.schedule.pct_start);
    c.schedule.div_factor = sched.get<double>("div_factor", c.schedule.div_factor);
    c.schedule.final_div_factor =
        sched.get<double>("final_div_factor", c.schedule.final_div_factor);
    c.schedule.warmup_epochs = sched.get<double>("warmup_epochs", 0.0);
    c.schedule.restart_epochs = sched.get<double>("restart_epochs", c.schedule.restart_epochs);
    c.schedule.restart_mult = sched.get<double>("restart_mult", c.schedule.restart_mult);
    c.schedule.cycle_epochs = sched.get<double>("cycle_epochs", c.schedule.cycle_epochs);
    c.schedule.cyclic_mode = sched.get<std::string>("mode", c.schedule.cyclic_mode);
    sched.finish();
    try {
      optim::validate(c.schedule);
    } catch (const Error& e) {
      config_fail("train.{}", e.what());
    }
    auto callbacks = train.child("callbacks");
    auto monitor = [](YamlSection& sec, train::Monitor m) {
      m.metric = sec.get<std::string>("monitor", m.metric);
      m.mode = sec.get<std::string>("mode", m.mode);
      m.min_delta = sec.get<double>("min_delta", m.min_delta);
      return m;
    };
    auto validated = [](auto&& build) {
      try {
        build();
      } catch (const ConfigError&) {
        throw;
      } catch (const Error& e) {
        config_fail("train.{}", e.what());
      }
    };
    if (callbacks.has("early_stopping")) {
      auto es = callbacks.child("early_stopping");
      c.early_stopping = es.get<bool>("enabled", true);
      auto& o = c.early_stopping_options;
      o.monitor = monitor(es, o.monitor);
      o.patience = es.get<int>("patience", o.patience);
      o.restore_best_weights = es.get<bool>("restore_best_weights", o.restore_best_weights);
      es.finish();
      validated([&] { train::EarlyStopping check(o); });
    } else {
      callbacks.child("early_stopping");
    }
    if (callbacks.has("reduce_lr_on_plateau")) {
      auto rl = callbacks.child("reduce_lr_on_plateau");
      c.reduce_lr_on_plateau = rl.get<bool>("enabled", true);
      auto& o = c.reduce_lr_options;
      o.monitor = monitor(rl, o.monitor);
      o.factor = rl.get<double>("factor", o.factor);
      o.patience = rl.get<int>("patience", o.patience);
      o.cooldown = rl.get<int>("cooldown", o.cooldown);
      o.min_lr = rl.get<double>("min_lr", o.min_lr);
      rl.finish();
      validated([&] { train::ReduceLROnPlateau check(o); });
    } else {
      callbacks.child("reduce_lr_on_plateau");
    }
    c.checkpoint_monitor.metric = c.validation_split > 0 ? "val_accuracy" : "loss";
    auto ck = callbacks.child("checkpoint");
    c.checkpoint_monitor = monitor(ck, c.checkpoint_monitor);
    c.checkpoint_every_n_epochs = ck.get<int>("every_n_epochs", 0);
    ck.finish();
    validated([&] {
      train::ModelCheckpoint check(
          {.monitor = c.checkpoint_monitor, .every_n_epochs = c.checkpoint_every_n_epochs}, {});
    });
    const bool has_validation = c.validation_split > 0;
    for (const auto& [used, m, key] :
         {std::tuple{c.early_stopping, c.early_stopping_options.monitor, "early_stopping"},
          std::tuple{c.reduce_lr_on_plateau, c.reduce_lr_options.monitor, "reduce_lr_on_plateau"},
          std::tuple{true, c.checkpoint_monitor, "checkpoint"}})
      if (used && m.metric.starts_with("val_") && !has_validation)
        config_fail(
            "'train.callbacks.{}.monitor' is {} but there is no validation data (set "
            "dataset.validation_split)",
            key, m.metric);
    callbacks.finish();
    train.finish();
    root.finish();
    try {
      c.build_model();  // layer options the YAML reader passed but the layers reject (shapes,
                        // ranges)
    } catch (const ConfigError&) {
      throw;
    } catch (const nn::ZooOptionError& e) {  // e.g. vgg's imagenet classifier on a small input
      config_fail("'{}': {}", zoo_option_key(e.option()), e.what());
    } catch (const Error& e) {
      config_fail("'model': {}", e.what());
    }
  } catch (const ConfigError& e) {
    throw ConfigError(fmt::format("{}: {}", blame(e.what(), source, sets), e.what()));
  } catch (
      const YAML::Exception& e) {  // a shape of YAML no check above foresaw: still a config error
    throw ConfigError(fmt::format("{}: cannot read the config ({})", source, e.msg));
  }
  YAML::Emitter emitter;
  emitter << doc;
  c.resolved_yaml = std::string(emitter.c_str()) + "\n";
  return c;
}

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) config_fail("cannot read config file '{}'", path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

nn::Model RunConfig::build_model() const {
  std::optional<nn::Model> built;
  if (backbone) {
    io::OnnxGraph g = as_onnx_error([&] {
      return io::import_onnx_graph(
          backbone->onnx,
          {.cut_at = backbone->cut_at, .bgr_to_rgb = backbone->bgr, .input_shape = input});
    });
    nn::Value y = g.output;
    try {
      for (const auto& layer : layers) y = layer(y);
      built.emplace(g.input, y);
    } catch (const Error& e) {
      config_fail("'model.head': {}", e.what());
    }
    if (backbone->freeze)
      for (const auto& name : g.layers) built->set_trainable(name, false);
    pretrained_ = std::make_shared<const std::map<std::string, Tensor>>(std::move(g.weights));
  }
  nn::Model model = built ? std::move(*built)
                    : zoo ? nn::build_zoo_model(*zoo)
                          : nn::sequential(input, layers);
  if (fine_tune) {
    const auto names = model.layer_names();
    if (std::find(names.begin(), names.end(), fine_tune->unfreeze_from) == names.end())
      config_fail(
          "'train.fine_tune.unfreeze_from': the model has no layer '{}' (convkit summary "
          "lists them)",
          fine_tune->unfreeze_from);
  }
  for (std::size_t i = 0; i < param_groups.size(); ++i) {
    const ParamGroup& g = param_groups[i];
    try {
      if (g.trainable) model.set_trainable(g.layers, *g.trainable);
      if (g.lr_multiplier) model.set_lr_multiplier(g.layers, *g.lr_multiplier);
    } catch (const ConfigError&) {
      throw;
    } catch (const Error& e) {
      config_fail("'train.param_groups.{}.layers': {}", i, e.what());
    }
  }
  return model;
}

void RunConfig::start_fine_tuning(nn::Model& model) const {
  const auto names = model.layer_names();
  auto from = std::find(names.begin(), names.end(), fine_tune->unfreeze_from);
  for (auto it = from; it != names.end(); ++it) {
    if (model.trainable(*it)) continue;  // the head keeps its rate
    model.set_trainable(*it, true);
    model.set_lr_multiplier(*it, fine_tune->lr_multiplier);
  }
}

std::shared_ptr<train::FrozenBase> RunConfig::frozen_base(const nn::Model& model,
                                                          std::string& why_not) const {
  why_not.clear();
  if (!backbone || backbone->cache_features == "false") return nullptr;
  if (!backbone->freeze)
    why_not = "the backbone is not frozen (model.backbone.freeze)";
  else if (fine_tune)
    why_not = "train.fine_tune unfreezes the backbone";
  else if (data::augments(augment) || data::Mixer(augment, 0).enabled())
    why_not = "dataset.augment changes the images every epoch";
  else if (ema_decay > 0)
    why_not = "train.ema_decay averages the whole model's weights";
  io::OnnxGraph g;
  if (why_not.empty()) {
    g = as_onnx_error([&] {
      return io::import_onnx_graph(
          backbone->onnx,
          {.cut_at = backbone->cut_at, .bgr_to_rgb = backbone->bgr, .input_shape = input});
    });
    for (const auto& name : g.layers)
      if (model.trainable(name)) {
        why_not = fmt::format("train.param_groups makes backbone layer '{}' trainable", name);
        break;
      }
  }
  if (!why_not.empty()) {
    if (backbone->cache_features == "true")
      config_fail("'model.backbone.cache_features' is true but {}", why_not);
    return nullptr;
  }
  nn::Model base(g.input, g.output);
  base.initialize(seed);
  g.load_weights(base);
  nn::Model head = nn::sequential(g.output.shape(), layers);
  head.initialize(seed);
  return std::make_shared<train::FrozenBase>(train::FrozenBase{std::move(base), std::move(head)});
}

void RunConfig::initialize_model(nn::Model& model) const {
  model.initialize(seed);
  if (!backbone) return;
  if (!pretrained_) build_model();
  for (const auto& [name, value] : *pretrained_) model.parameter(name).copy_from(value);
}

RunConfig parse_run_config(const std::string& text, const std::string& source,
                           const std::vector<std::string>& sets) {
  YAML::Node doc = load_yaml(text, source);
  if (!doc || doc.IsNull()) doc = YAML::Node(YAML::NodeType::Map);
  for (const auto& s : sets) apply_set(doc, s);
  return parse(doc, source, sets);
}

RunConfig load_run_config(const std::optional<std::string>& file,
                          const std::vector<std::string>& sets) {
  YAML::Node defaults = load_yaml(default_config_text(), "built-in default config");
  if (!file) {
    for (const auto& s : sets) apply_set(defaults, s);
    return parse(defaults, "built-in default config", sets);
  }
  YAML::Node user = load_yaml(read_text(*file), *file);
  // A user config inherits train/dataset defaults but always defines its own model.
  YAML::Node base = YAML::Clone(defaults);
  base.remove("model");
  YAML::Node doc;
  try {
    doc = merge(base, user);
  } catch (const ConfigError& e) {
    throw ConfigError(fmt::format("{}: {}", *file, e.what()));
  }
  for (const auto& s : sets) apply_set(doc, s);
  return parse(doc, *file, sets);
}

}  // namespace convkit::run
