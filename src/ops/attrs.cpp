// Attrs lookup and printing.
#include "ops/attrs.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace convkit::ops {

void Attrs::set(std::string name, AttrValue value) {
  for (auto& [k, v] : items_)
    if (k == name) {
      v = std::move(value);
      return;
    }
  items_.emplace_back(std::move(name), std::move(value));
}

const AttrValue* Attrs::find(std::string_view name) const {
  for (auto& [k, v] : items_)
    if (k == name) return &v;
  return nullptr;
}

namespace {
template <typename T>
T get_as(const Attrs& attrs, const AttrValue* v, std::string_view name, T fallback,
         std::string_view type) {
  if (!v) return fallback;
  if (auto* x = std::get_if<T>(v)) return *x;
  // Integers are accepted where floats are expected (e.g. "momentum: 1").
  if constexpr (std::is_same_v<T, double>)
    if (auto* i = std::get_if<std::int64_t>(v)) return double(*i);
  if constexpr (std::is_same_v<T, std::vector<double>>)
    if (auto* i = std::get_if<std::vector<std::int64_t>>(v)) return T(i->begin(), i->end());
  fail("attribute '{}' must be {}, got {}", name, type, to_string(*v));
  (void)attrs;
}
}  // namespace

std::int64_t Attrs::get_int(std::string_view n, std::int64_t f) const {
  return get_as(*this, find(n), n, f, "an integer");
}
double Attrs::get_float(std::string_view n, double f) const {
  return get_as(*this, find(n), n, f, "a number");
}
bool Attrs::get_bool(std::string_view n, bool f) const {
  return get_as(*this, find(n), n, f, "true or false");
}
std::string Attrs::get_string(std::string_view n, std::string f) const {
  return get_as(*this, find(n), n, std::move(f), "a string");
}
std::vector<std::int64_t> Attrs::get_ints(std::string_view n, std::vector<std::int64_t> f) const {
  return get_as(*this, find(n), n, std::move(f), "a list of integers");
}
std::vector<double> Attrs::get_floats(std::string_view n, std::vector<double> f) const {
  return get_as(*this, find(n), n, std::move(f), "a list of numbers");
}

std::string to_string(const AttrValue& value) {
  return std::visit(
      [](const auto& x) -> std::string {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, std::string>)
          return x;
        else if constexpr (std::is_same_v<T, bool>)
          return x ? "true" : "false";
        else if constexpr (std::is_same_v<T, double>)
          return fmt::format("{:g}", x);
        else if constexpr (std::is_same_v<T, std::int64_t>)
          return fmt::format("{}", x);
        else
          return fmt::format("[{}]", fmt::join(x, ", "));
      },
      value);
}

std::string Attrs::str() const {
  std::string out;
  for (auto& [k, v] : items_) {
    if (!out.empty()) out += ", ";
    out += k + "=" + to_string(v);
  }
  return out;
}

}  // namespace convkit::ops
