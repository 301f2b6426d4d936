// Reading a tuning spec (include/convkit/tune/tuner.h shows one): strict keys, the space's
// parameters checked as they are added, the objective's metric known, paths made absolute.
#include <convkit/tune/tuner.h>

#include "run/yaml_section.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <fstream>
#include <sstream>

namespace convkit::tune {

using run::config_fail;
using run::YamlSection;

namespace {

const std::vector<std::string> kHistoryMetrics = {"loss",         "accuracy", "val_loss",
                                                  "val_accuracy", "val_top5", "val_macro_f1"};
const std::vector<std::string> kTestMetrics = {"test_accuracy", "test_loss", "test_macro_f1"};

// Any YAML value as the text a --set override takes (flow style for lists and maps).
std::string yaml_text(const YAML::Node& node) {
  if (node.IsScalar()) return node.Scalar();
  YAML::Emitter out;
  out << YAML::Flow << node;
  return out.c_str();
}

Param::Type parse_type(const std::string& s, const std::string& path) {
  if (s == "int") return Param::Type::Int;
  if (s == "float") return Param::Type::Float;
  if (s == "choice") return Param::Type::Choice;
  if (s == "bool" || s == "boolean") return Param::Type::Bool;
  config_fail("{}: '{}' is not a parameter type (int, float, choice, bool)", path, s);
}

Param parse_param(const YAML::Node& node, const std::string& path) {
  if (!node.IsMap()) config_fail("{}: a parameter is a mapping {{key: ..., type: ...}}", path);
  YamlSection s(node, path);
  Param p;
  p.key = s.required<std::string>("key");
  p.name = s.get<std::string>("name", "");
  p.type = parse_type(s.required<std::string>("type"), s.path_of("type"));
  if (p.type == Param::Type::Int || p.type == Param::Type::Float) {
    p.low = s.required<double>("low");
    p.high = s.required<double>("high");
    p.step = s.get<double>("step", 0.0);
    p.log = s.get<bool>("log", false);
  } else if (p.type == Param::Type::Choice) {
    const YAML::Node values = s.raw("values");
    if (!values || !values.IsSequence())
      config_fail("{}: a choice needs `values: [...]`", s.path_of("values"));
    for (const auto& v : values) p.values.push_back(yaml_text(v));
  }
  if (const YAML::Node when = s.raw("when"); when) {
    if (!when.IsMap())
      config_fail("{}: conditions are a mapping {{PARAM: values}}", path + ".when");
    for (const auto& entry : when) {
      Condition c;
      c.param = YamlSection::key_of(entry.first, path + ".when");
      const std::string cpath = path + ".when." + c.param;
      if (entry.second.IsMap()) {
        YamlSection range(entry.second, cpath);
        if (range.has("min")) c.min = range.get<double>("min", 0.0);
        if (range.has("max")) c.max = range.get<double>("max", 0.0);
        range.finish();
      } else if (entry.second.IsSequence()) {
        for (const auto& v : entry.second) c.values.push_back(yaml_text(v));
      } else {
        c.values.push_back(yaml_text(entry.second));
      }
      p.when.push_back(std::move(c));
    }
  }
  s.finish();
  return p;
}

Objective parse_objective(const YAML::Node& node, const std::string& path) {
  Objective o;
  std::string direction;
  if (node.IsScalar()) {
    o.metric = node.Scalar();
  } else if (node.IsMap()) {
    YamlSection s(node, path);
    o.metric = s.required<std::string>("metric");
    direction = s.get<std::string>("direction", "");
    s.finish();
  } else {
    config_fail("{}: a metric name, or {{metric: NAME, direction: min|max}}", path);
  }
  std::vector<std::string> known = kHistoryMetrics;
  known.insert(known.end(), kTestMetrics.begin(), kTestMetrics.end());
  if (std::find(known.begin(), known.end(), o.metric) == known.end())
    config_fail("{}: '{}' names no metric; one of: {}", path, o.metric, fmt::join(known, ", "));
  if (direction.empty())
    o.maximize = o.metric.find("loss") == std::string::npos;
  else if (direction == "max" || direction == "min")
    o.maximize = direction == "max";
  else
    config_fail("{}.direction: '{}' is neither min nor max", path, direction);
  return o;
}

}  // namespace

TuneSpec parse_tune_spec(const std::string& yaml_text_in, const std::string& source,
                         const std::filesystem::path& base_dir) {
  YAML::Node root;
  try {
    root = YAML::Load(yaml_text_in);
  } catch (const YAML::Exception& e) {
    config_fail("{}: not valid YAML ({})", source, e.what());
  }
  if (!root.IsMap()) config_fail("{}: a tuning spec is a YAML mapping", source);
  try {
    YamlSection s(root, "");
    TuneSpec spec;
    spec.text = yaml_text_in;
    if (const auto config = s.get<std::string>("config", ""); !config.empty()) {
      spec.config = std::filesystem::path(config).is_absolute() ? std::filesystem::path(config)
                                                                : base_dir / config;
      if (!std::filesystem::is_regular_file(spec.config))
        config_fail("config: {} is not a file", spec.config.string());
    }
    if (const YAML::Node sets = s.raw("set"); sets) {
      if (!sets.IsSequence()) config_fail("set: a list of key=value overrides");
      for (const auto& v : sets) spec.sets.push_back(v.as<std::string>());
    }
    if (const YAML::Node o = s.raw("objective"); o)
      spec.objective = parse_objective(o, "objective");
    spec.max_trials = s.get<int>("max_trials", 10);
    if (spec.max_trials < 1) config_fail("max_trials: must be >= 1, got {}", spec.max_trials);
    spec.executions_per_trial = s.get<int>("executions_per_trial", 1);
    if (spec.executions_per_trial < 1)
      config_fail("executions_per_trial: must be >= 1, got {}", spec.executions_per_trial);
    spec.seed = s.get<std::uint64_t>("seed", 1);
    if (const YAML::Node searcher = s.raw("searcher"); searcher) {
      if (searcher.IsScalar()) {
        spec.searcher.kind = searcher.Scalar();
      } else {
        YamlSection ss(searcher, "searcher");
        spec.searcher.kind = ss.required<std::string>("type");
        spec.searcher.startup_trials = ss.get<int>("startup_trials", 10);
        spec.searcher.candidates = ss.get<int>("candidates", 24);
        spec.searcher.gamma = ss.get<double>("gamma", 0.1);
        ss.finish();
      }
      if (spec.searcher.kind != "random" && spec.searcher.kind != "tpe")
        config_fail("searcher: '{}' is not a searcher (random, tpe)", spec.searcher.kind);
    }
    {
      YamlSection budget = s.child("budget");
      spec.budget_minutes = budget.get<double>("minutes", 0.0);
      if (spec.budget_minutes < 0) config_fail("budget.minutes: must be >= 0");
      budget.finish();
    }
    if (s.has("hyperband")) {
      YamlSection h = s.child("hyperband");
      HyperbandOptions o;
      o.min_epochs = h.get<int>("min_epochs", 1);
      o.max_epochs = h.required<int>("max_epochs");
      o.eta = h.get<int>("eta", 3);
      h.finish();
      if (o.min_epochs < 1 || o.max_epochs < o.min_epochs)
        config_fail("hyperband: needs 1 <= min_epochs <= max_epochs, got {} and {}", o.min_epochs,
                    o.max_epochs);
      if (o.eta < 2) config_fail("hyperband.eta: must be >= 2, got {}", o.eta);
      if (spec.executions_per_trial != 1)
        config_fail("hyperband: takes executions_per_trial: 1 (each rung continues one run)");
      spec.hyperband = o;
    }
    if (const YAML::Node pruner = s.raw("pruner"); pruner) {
      PrunerOptions o;
      std::string type;
      if (pruner.IsScalar()) {
        type = pruner.Scalar();
      } else {
        YamlSection ps(pruner, "pruner");
        type = ps.required<std::string>("type");
        o.startup_trials = ps.get<int>("startup_trials", 5);
        o.warmup_epochs = ps.get<int>("warmup_epochs", 1);
        ps.finish();
      }
      if (type != "median") config_fail("pruner: '{}' is not a pruner (median)", type);
      if (spec.hyperband) config_fail("pruner: hyperband stops trials itself; use one of the two");
      spec.pruner = o;
    }
    const YAML::Node space = s.raw("space");
    if (!space || !space.IsSequence() || space.size() == 0)
      config_fail(
          "space: a list of parameters, e.g. - {{key: train.optimizer.lr, type: float, "
          "low: 1e-4, high: 1e-1, log: true}}");
    for (std::size_t i = 0; i < space.size(); ++i)
      spec.space.add(parse_param(space[i], fmt::format("space.{}", i)));
    s.finish();
    return spec;
  } catch (const run::ConfigError& e) {
    throw run::ConfigError(fmt::format("{}: {}", source, e.what()));
  }
}

std::vector<int> HyperbandOptions::rungs() const {
  std::vector<int> r;
  for (long e = min_epochs; e < max_epochs; e *= eta) r.push_back(int(e));
  r.push_back(max_epochs);
  return r;
}

TuneSpec load_tune_spec(const std::filesystem::path& file) {
  std::ifstream in(file);
  if (!in) config_fail("{}: cannot read the tuning spec", file.string());
  std::stringstream text;
  text << in.rdbuf();
  return parse_tune_spec(text.str(), file.string(), file.parent_path());
}

}  // namespace convkit::tune
