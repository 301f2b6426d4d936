// YamlSection (see yaml_section.h).
#include "run/yaml_section.h"

#include <fmt/ranges.h>

#include <cstdint>

namespace convkit::run {

YamlSection::YamlSection(YAML::Node node, std::string path)
    : node_(std::move(node)), path_(std::move(path)) {
  if (node_ && !node_.IsNull() && !node_.IsMap())
    config_fail("'{}' must be a mapping of keys to values", path_.empty() ? "config" : path_);
}

bool YamlSection::has(const std::string& key) const {
  return node_ && node_.IsMap() && node_[key] && !node_[key].IsNull();
}

YamlSection YamlSection::child(const std::string& key) {
  known_.insert(key);
  return YamlSection(has(key) ? node_[key] : YAML::Node(), path_of(key));
}

std::string YamlSection::key_of(const YAML::Node& key, const std::string& path) {
  // NOTE: fuzz_config found keys that are lists or mappings ("? [a]: 1"): as<std::string>() throws.
  if (!key.IsScalar()) config_fail("'{}' has a key that is a list or a mapping, not a name", path);
  return key.Scalar();
}

void YamlSection::finish() const {
  if (!node_ || !node_.IsMap()) return;
  for (const auto& item : node_) {
    const auto key = key_of(item.first, path_.empty() ? "config" : path_);
    if (!known_.count(key))
      config_fail("unknown key '{}' (allowed here: {})", path_of(key), fmt::join(known_, ", "));
  }
}

namespace {
[[noreturn]] void type_fail(const YAML::Node& node, const std::string& path, const char* expected) {
  std::string got = node.IsScalar()     ? "'" + node.Scalar() + "'"
                    : node.IsSequence() ? "a list"
                                        : "a mapping";
  config_fail("'{}' must be {}, got {}", path, expected, got);
}
}  // namespace

template <>
std::string YamlSection::as<std::string>(const YAML::Node& n, const std::string& p) {
  if (!n.IsScalar()) type_fail(n, p, "a string");
  return n.Scalar();
}
template <>
bool YamlSection::as<bool>(const YAML::Node& n, const std::string& p) {
  bool v;
  if (!n.IsScalar() || !YAML::convert<bool>::decode(n, v)) type_fail(n, p, "true or false");
  return v;
}
template <>
std::int64_t YamlSection::as<std::int64_t>(const YAML::Node& n, const std::string& p) {
  long long v;
  if (!n.IsScalar() || !YAML::convert<long long>::decode(n, v)) type_fail(n, p, "an integer");
  return v;
}
template <>
int YamlSection::as<int>(const YAML::Node& n, const std::string& p) {
  auto v = as<std::int64_t>(n, p);
  if (v < INT32_MIN || v > INT32_MAX) type_fail(n, p, "a 32-bit integer");
  return int(v);
}
template <>
std::uint64_t YamlSection::as<std::uint64_t>(const YAML::Node& n, const std::string& p) {
  auto v = as<std::int64_t>(n, p);
  if (v < 0) type_fail(n, p, "a non-negative integer");
  return std::uint64_t(v);
}
template <>
double YamlSection::as<double>(const YAML::Node& n, const std::string& p) {
  double v;
  if (!n.IsScalar() || !YAML::convert<double>::decode(n, v)) type_fail(n, p, "a number");
  return v;
}
template <>
std::vector<std::int64_t> YamlSection::as<std::vector<std::int64_t>>(const YAML::Node& n,
                                                                     const std::string& p) {
  if (n.IsScalar()) return {as<std::int64_t>(n, p)};
  if (!n.IsSequence()) type_fail(n, p, "a list of integers");
  std::vector<std::int64_t> out;
  for (std::size_t i = 0; i < n.size(); ++i)
    out.push_back(as<std::int64_t>(n[i], fmt::format("{}[{}]", p, i)));
  return out;
}
template <>
std::vector<double> YamlSection::as<std::vector<double>>(const YAML::Node& n,
                                                         const std::string& p) {
  if (n.IsScalar()) return {as<double>(n, p)};
  if (!n.IsSequence()) type_fail(n, p, "a list of numbers");
  std::vector<double> out;
  for (std::size_t i = 0; i < n.size(); ++i)
    out.push_back(as<double>(n[i], fmt::format("{}[{}]", p, i)));
  return out;
}

}  // namespace convkit::run
