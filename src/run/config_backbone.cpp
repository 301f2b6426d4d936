// model.backbone: reading the keys of a pretrained ONNX base (see config_backbone.h).
#include "run/config_backbone.h"

#include <fmt/ranges.h>

#include <filesystem>

namespace convkit::run {

namespace fs = std::filesystem;

namespace {

std::string find_onnx(const std::string& given, const std::string& config_source,
                      const std::string& key) {
  std::error_code ec;
  fs::path p(given);
  if (p.is_relative() && !fs::exists(p, ec)) {
    const fs::path beside = fs::path(config_source).parent_path() / p;
    if (!config_source.empty() && fs::exists(beside, ec)) p = beside;
  }
  if (!fs::exists(p, ec))
    throw DataError(
        fmt::format("'{}': '{}' not found (relative paths are read from the working "
                    "directory, then from the config file's folder)",
                    key, given));
  return fs::absolute(p).lexically_normal().string();
}

}  // namespace

train::Preprocess normalize_preset(const std::string& name, const std::string& key) {
  if (name == "centered") return {.mean = {127.0f / 255}, .std = {128.0f / 255}};  // (x-127)/128
  if (name == "imagenet")
    return {.mean = {0.485f, 0.456f, 0.406f}, .std = {0.229f, 0.224f, 0.225f}};
  if (name == "raw") return {.mean = {0.0f}, .std = {1.0f / 255}};  // 0..255
  if (name == "unit") return {.mean = {0.0f}, .std = {1.0f}};       // 0..1
  if (name == "symmetric") return {.mean = {0.5f}, .std = {0.5f}};  // -1..1
  config_fail(
      "'{}' must be centered ((x - 127) / 128), imagenet (torchvision's mean/std), raw (0..255), "
      "unit (0..1), symmetric (-1..1), dataset (the data's own statistics) or {{mean: [...], std: "
      "[...]}} on the 0..1 scale; got '{}'",
      key, name);
}

BackboneConfig parse_backbone(YamlSection& s, const std::string& config_source) {
  BackboneConfig b;
  b.onnx = find_onnx(s.required<std::string>("onnx"), config_source, s.path_of("onnx"));
  b.cut_at = s.get<std::string>("cut_at", b.cut_at);
  b.freeze = s.get<bool>("freeze", b.freeze);
  const std::string channels = s.get<std::string>("channels", "rgb");
  if (channels != "rgb" && channels != "bgr")
    config_fail(
        "'{}' must be rgb or bgr (the channel order the file's model was trained on), "
        "got '{}'",
        s.path_of("channels"), channels);
  b.bgr = channels == "bgr";
  const YAML::Node cache = s.raw("cache_features");
  if (cache && !cache.IsNull()) {
    const auto v = YamlSection::as<std::string>(cache, s.path_of("cache_features"));
    if (v != "auto" && v != "true" && v != "false")
      config_fail("'{}' must be auto, true or false, got '{}'", s.path_of("cache_features"), v);
    b.cache_features = v;
  }
  if (!s.has("normalize"))
    config_fail(
        "missing required key '{}': the input convention the backbone's weights were trained "
        "with (centered for EfficientNet-Lite's (x - 127) / 128, imagenet, raw, unit, "
        "symmetric, dataset, or {{mean: [...], std: [...]}})",
        s.path_of("normalize"));
  const YAML::Node n = s.raw("normalize");
  const std::string key = s.path_of("normalize");
  if (n.IsScalar()) {
    const auto name = YamlSection::as<std::string>(n, key);
    if (name != "dataset") b.normalize = normalize_preset(name, key);
  } else {
    YamlSection m(n, key);
    const auto mean = m.required<std::vector<double>>("mean");
    const auto stdev = m.required<std::vector<double>>("std");
    train::Preprocess p{.mean = {mean.begin(), mean.end()}, .std = {stdev.begin(), stdev.end()}};
    m.finish();
    if (p.mean.size() != p.std.size() || (p.mean.size() != 1 && p.mean.size() != 3))
      config_fail("'{}': mean and std need 1 or 3 values each, got {} and {}", key, p.mean.size(),
                  p.std.size());
    for (float v : p.std)
      if (!(v > 0)) config_fail("'{}.std' values must be > 0, got {}", key, v);
    b.normalize = p;
  }
  s.finish();
  return b;
}

}  // namespace convkit::run
