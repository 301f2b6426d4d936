// tune::SearchSpace: the hyperparameters a study searches. Each is a config key with a type (int,
// float, choice, bool), a range (with a step, or on a log scale) or a list of values, and
// conditions: a parameter that exists only when earlier ones have given values (per-layer filters
// when `layers` >= 3, momentum only for SGD). A point of the space is an Assignment; it reaches a
// config as `--set key=value` overrides (run::load_run_config).
//
//   tune::SearchSpace space;
//   space.add({.name = "units", .key = "model.layers.1.units", .type = tune::Param::Type::Int,
//              .low = 32, .high = 512, .step = 32});
//   space.add({.name = "lr", .key = "train.optimizer.lr", .type = tune::Param::Type::Choice,
//              .values = {"1e-2", "1e-3", "1e-4"}});
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <vector>

namespace convkit::tune {

// `when: {PARAM: [v1, v2]}` (a choice or bool among values) or `when: {PARAM: {min: a, max: b}}`.
struct Condition {
  std::string param;
  std::vector<std::string> values;  // YAML text of the allowed values (choice, bool)
  std::optional<double> min, max;   // bounds, inclusive (int, float)
};

struct Param {
  enum class Type { Int, Float, Choice, Bool };
  std::string name;  // how tables and reports call it (default: the last part of its key)
  std::string key;   // the config key it sets: "train.optimizer.lr", "model.layers.1.units"
  Type type = Type::Float;
  double low = 0, high = 0;
  double step = 0;   // int: the grid (default 1); float: 0 continuous, else a grid from low
  bool log = false;  // sampled uniformly in log space (low > 0)
  std::vector<std::string> values;  // choice: the YAML text of each value
  std::vector<Condition> when;      // all must hold for the parameter to exist

  // Choice and bool: how many options; int and float: 0.
  std::size_t options() const;
};

// One point of the space: each active parameter's value (int and float as numbers, bool 0/1,
// choice the index of its value). Inactive parameters are absent.
using Assignment = std::map<std::string, double>;

class SearchSpace {
 public:
  // Checks the parameter (ConfigError naming it): a name used once, a key, a non-empty range,
  // a log range above 0, a step that fits the range, choices given, conditions on earlier
  // parameters with values they can take.
  void add(Param param);
  const std::vector<Param>& params() const { return params_; }
  const Param& param(const std::string& name) const;
  bool empty() const { return params_.empty(); }

  // Whether the parameter's conditions hold for the values assigned so far.
  bool active(const Param& param, const Assignment& assigned) const;
  // The value as config text ("0.001", "256", "true", a choice's YAML).
  std::string text(const Param& param, double value) const;
  // The overrides that apply an assignment: "key=value" for each active parameter.
  std::vector<std::string> sets(const Assignment& assigned) const;
  // "units=256 lr=0.001" (parameters in space order; floats to 4 significant digits).
  std::string describe(const Assignment& assigned) const;
  // The nearest value the parameter can take (range, step, integer, option index).
  double snap(const Param& param, double value) const;
  // A uniform sample of every active parameter, in order (conditions see earlier values).
  Assignment sample_uniform(std::mt19937_64& rng) const;
  double sample_uniform(const Param& param, std::mt19937_64& rng) const;

 private:
  std::vector<Param> params_;
};

const char* type_name(Param::Type type);

}  // namespace convkit::tune
