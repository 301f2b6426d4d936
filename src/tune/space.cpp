// The search space: checking parameters as they are added, conditions, snapping to a parameter's
// grid, uniform sampling and turning an assignment into config overrides.
#include <convkit/run/errors.h>
#include <convkit/tune/space.h>

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>

namespace convkit::tune {

using run::config_fail;

const char* type_name(Param::Type type) {
  switch (type) {
    case Param::Type::Int:
      return "int";
    case Param::Type::Float:
      return "float";
    case Param::Type::Choice:
      return "choice";
    case Param::Type::Bool:
      return "bool";
  }
  return "?";
}

std::size_t Param::options() const {
  if (type == Type::Choice) return values.size();
  if (type == Type::Bool) return 2;
  return 0;
}

namespace {

bool numeric(const Param& p) {
  return p.type == Param::Type::Int || p.type == Param::Type::Float;
}

// A condition's value text against the parameter's option (choice: the YAML text compared as
// written or as numbers, "1e-3" == "0.001"; bool: true/false).
bool same_value(const std::string& a, const std::string& b) {
  if (a == b) return true;
  char* end_a = nullptr;
  char* end_b = nullptr;
  const double x = std::strtod(a.c_str(), &end_a), y = std::strtod(b.c_str(), &end_b);
  return !a.empty() && !b.empty() && *end_a == 0 && *end_b == 0 && x == y;
}

std::string bool_text(const std::string& s) {
  if (s == "true" || s == "True" || s == "yes" || s == "1") return "true";
  if (s == "false" || s == "False" || s == "no" || s == "0") return "false";
  return s;
}

}  // namespace

void SearchSpace::add(Param p) {
  if (p.key.empty())
    config_fail("tune space: parameter '{}' needs a key (the config key it sets)", p.name);
  if (p.name.empty()) p.name = p.key.substr(p.key.rfind('.') + 1);
  const std::string who = fmt::format("tune space: parameter '{}' ({})", p.name, p.key);
  for (const auto& q : params_)
    if (q.name == p.name)
      config_fail("tune space: two parameters are named '{}'; give one a `name`", p.name);
  if (numeric(p)) {
    if (!std::isfinite(p.low) || !std::isfinite(p.high) || !(p.low < p.high))
      config_fail("{}: the range [{}, {}] is empty; low must be below high", who, p.low, p.high);
    if (p.log && p.low <= 0) config_fail("{}: a log range must be above 0, got low {}", who, p.low);
    if (p.step < 0) config_fail("{}: step must be > 0, got {}", who, p.step);
    if (p.type == Param::Type::Int) {
      if (p.low != std::floor(p.low) || p.high != std::floor(p.high))
        config_fail("{}: an int range needs whole bounds, got [{}, {}]", who, p.low, p.high);
      if (p.step == 0) p.step = 1;
      if (p.step != std::floor(p.step)) config_fail("{}: an int step must be whole", who);
    }
    if (p.step > p.high - p.low)
      config_fail("{}: step {} is wider than the range [{}, {}]", who, p.step, p.low, p.high);
    if (p.log && p.step != 0 && p.type == Param::Type::Float)
      config_fail("{}: a float range is either log or stepped, not both", who);
  } else if (p.type == Param::Type::Choice) {
    if (p.values.empty()) config_fail("{}: a choice needs at least one value", who);
  }
  for (const auto& c : p.when) {
    const auto it = std::find_if(params_.begin(), params_.end(),
                                 [&](const Param& q) { return q.name == c.param; });
    if (it == params_.end())
      config_fail("{}: its condition names '{}', which is no earlier parameter", who, c.param);
    if (numeric(*it)) {
      if (!c.values.empty() && !c.min && !c.max)
        for (const auto& v : c.values) {
          char* end = nullptr;
          std::strtod(v.c_str(), &end);
          if (v.empty() || *end != 0)
            config_fail("{}: its condition on '{}' (a number) lists '{}'", who, c.param, v);
        }
    } else {
      if (c.min || c.max)
        config_fail("{}: its condition on '{}' ({}) takes values, not min/max", who, c.param,
                    type_name(it->type));
      for (const auto& v : c.values) {
        bool found = false;
        if (it->type == Param::Type::Bool)
          found = bool_text(v) == "true" || bool_text(v) == "false";
        for (const auto& option : it->values) found |= same_value(option, v);
        if (!found)
          config_fail("{}: its condition on '{}' names the value '{}', which it never takes", who,
                      c.param, v);
      }
    }
    if (c.values.empty() && !c.min && !c.max)
      config_fail("{}: its condition on '{}' gives no values and no min/max", who, c.param);
  }
  params_.push_back(std::move(p));
}

const Param& SearchSpace::param(const std::string& name) const {
  for (const auto& p : params_)
    if (p.name == name) return p;
  config_fail("tune space: no parameter is named '{}'", name);
}

bool SearchSpace::active(const Param& p, const Assignment& assigned) const {
  for (const auto& c : p.when) {
    const auto it = assigned.find(c.param);
    if (it == assigned.end()) return false;  // the parameter it depends on is itself inactive
    const Param& q = param(c.param);
    const double v = it->second;
    if (c.min && v < *c.min) return false;
    if (c.max && v > *c.max) return false;
    if (!c.values.empty()) {
      bool any = false;
      for (const auto& allowed : c.values) {
        if (q.type == Param::Type::Choice)
          any |= same_value(q.values[std::size_t(v)], allowed);
        else if (q.type == Param::Type::Bool)
          any |= (v != 0) == (bool_text(allowed) == "true");
        else
          any |= std::strtod(allowed.c_str(), nullptr) == v;
      }
      if (!any) return false;
    }
  }
  return true;
}

std::string SearchSpace::text(const Param& p, double v) const {
  switch (p.type) {
    case Param::Type::Int:
      return fmt::format("{}", std::int64_t(std::llround(v)));
    case Param::Type::Float:
      return fmt::format("{}", v);
    case Param::Type::Choice:
      return p.values.at(std::size_t(v));
    case Param::Type::Bool:
      return v != 0 ? "true" : "false";
  }
  return {};
}

std::vector<std::string> SearchSpace::sets(const Assignment& assigned) const {
  std::vector<std::string> out;
  for (const auto& p : params_)
    if (const auto it = assigned.find(p.name); it != assigned.end())
      out.push_back(p.key + "=" + text(p, it->second));
  return out;
}

std::string SearchSpace::describe(const Assignment& assigned) const {
  std::string out;
  for (const auto& p : params_)
    if (const auto it = assigned.find(p.name); it != assigned.end())
      out +=
          (out.empty() ? "" : " ") + p.name + "=" +
          (p.type == Param::Type::Float ? fmt::format("{:.4g}", it->second) : text(p, it->second));
  return out;
}

double SearchSpace::snap(const Param& p, double v) const {
  switch (p.type) {
    case Param::Type::Choice:
    case Param::Type::Bool:
      return std::clamp(std::round(v), 0.0, double(p.options() - 1));
    case Param::Type::Int:
    case Param::Type::Float:
      break;
  }
  if (p.step > 0) {
    const double k = std::round((v - p.low) / p.step);
    const double last = std::floor((p.high - p.low) / p.step + 1e-9);
    v = p.low + std::clamp(k, 0.0, last) * p.step;
  }
  if (p.type == Param::Type::Int) v = std::round(v);
  return std::clamp(v, p.low, p.high);
}

double SearchSpace::sample_uniform(const Param& p, std::mt19937_64& rng) const {
  std::uniform_real_distribution<double> u(0.0, 1.0);
  const double r = u(rng);
  if (!numeric(p)) return std::min(std::floor(r * double(p.options())), double(p.options() - 1));
  if (p.step > 0 && !p.log) {  // every grid point equally likely
    const double count = std::floor((p.high - p.low) / p.step + 1e-9) + 1;
    return snap(p, p.low + std::min(std::floor(r * count), count - 1) * p.step);
  }
  if (p.log) return snap(p, std::exp(std::log(p.low) + r * (std::log(p.high) - std::log(p.low))));
  return snap(p, p.low + r * (p.high - p.low));
}

Assignment SearchSpace::sample_uniform(std::mt19937_64& rng) const {
  Assignment a;
  for (const auto& p : params_)
    if (active(p, a)) a[p.name] = sample_uniform(p, rng);
  return a;
}

}  // namespace convkit::tune
