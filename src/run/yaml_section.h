// YamlSection (internal to run/): strict, typed reading of one YAML mapping. Every key read is
// recorded; finish() rejects any other key, so a typo in a config ("epochz") is an error naming the
// full key path and the keys that are allowed, never a silently ignored setting.
#pragma once

#include <convkit/run/errors.h>

#include <yaml-cpp/yaml.h>

#include <set>
#include <string>
#include <vector>

namespace convkit::run {

class YamlSection {
 public:
  YamlSection(YAML::Node node, std::string path);

  bool has(const std::string& key) const;
  std::string path_of(const std::string& key) const {
    return path_.empty() ? key : path_ + "." + key;
  }

  template <typename T>
  T get(const std::string& key, const T& fallback) {
    known_.insert(key);
    if (!has(key)) return fallback;
    return as<T>(node_[key], path_of(key));
  }
  template <typename T>
  T required(const std::string& key) {
    known_.insert(key);
    if (!has(key)) config_fail("missing required key '{}'", path_of(key));
    return as<T>(node_[key], path_of(key));
  }
  YamlSection child(const std::string& key);  // an empty section when absent
  YAML::Node raw(const std::string& key) {
    known_.insert(key);
    return node_[key];
  }
  void finish() const;  // throws ConfigError on unknown keys

  // A mapping key as text; a key that is itself a list or a mapping is a ConfigError naming `path`.
  static std::string key_of(const YAML::Node& key, const std::string& path);
  // Converts with a message naming `path` and the expected type on failure.
  template <typename T>
  static T as(const YAML::Node& node, const std::string& path);

 private:
  YAML::Node node_;
  std::string path_;
  std::set<std::string> known_;
};

}  // namespace convkit::run
