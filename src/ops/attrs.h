// Attrs: an op's attributes as an ordered list of (name, value). Used to print layers, to
// serialize a graph (model spec JSON) and to rebuild ops by name through the op registry.
#pragma once

#include <convkit/util/error.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace convkit::ops {

using AttrValue = std::variant<std::int64_t, double, bool, std::string, std::vector<std::int64_t>,
                               std::vector<double>>;

class Attrs {
 public:
  Attrs() = default;
  Attrs(std::initializer_list<std::pair<std::string, AttrValue>> items) : items_(items) {}

  void set(std::string name, AttrValue value);
  bool has(std::string_view name) const { return find(name) != nullptr; }
  const std::vector<std::pair<std::string, AttrValue>>& items() const { return items_; }

  // Typed lookup; a missing key gives `fallback`, a value of another type throws Error.
  std::int64_t get_int(std::string_view name, std::int64_t fallback) const;
  double get_float(std::string_view name, double fallback) const;
  bool get_bool(std::string_view name, bool fallback) const;
  std::string get_string(std::string_view name, std::string fallback) const;
  std::vector<std::int64_t> get_ints(std::string_view name,
                                     std::vector<std::int64_t> fallback) const;
  std::vector<double> get_floats(std::string_view name, std::vector<double> fallback) const;

  std::string str() const;  // "filters=32, kernel=[3, 3], padding=same"

 private:
  const AttrValue* find(std::string_view name) const;
  std::vector<std::pair<std::string, AttrValue>> items_;
};

std::string to_string(const AttrValue& value);

}  // namespace convkit::ops
