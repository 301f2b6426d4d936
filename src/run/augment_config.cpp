// Parsing of dataset.augment (see augment_config.h). Shapes of values (number or [lo, hi],
// bool or probability) are resolved here; ranges are checked by data::validate.
#include "run/augment_config.h"

#include <algorithm>

namespace convkit::run {

namespace {

// A number x, read as the range from_number(x), or a list [lo, hi].
template <typename F>
data::Range number_or_range(YamlSection& s, const std::string& key, data::Range fallback,
                            F from_number) {
  const YAML::Node node = s.raw(key);
  if (!node || node.IsNull()) return fallback;
  const std::string path = s.path_of(key);
  if (node.IsScalar()) return from_number(YamlSection::as<double>(node, path), path);
  auto v = YamlSection::as<std::vector<double>>(node, path);
  if (v.size() != 2)
    config_fail("'{}' must be a number or a list [lo, hi], got a list of {} values", path,
                v.size());
  return {float(v[0]), float(v[1])};
}

// true (probability 0.5), false (0), or a probability.
float flip_probability(YamlSection& s, const std::string& key) {
  const YAML::Node node = s.raw(key);
  if (!node || node.IsNull()) return 0;
  bool b;
  if (node.IsScalar() && YAML::convert<bool>::decode(node, b)) return b ? 0.5f : 0.0f;
  return float(YamlSection::as<double>(node, s.path_of(key)));
}

// A factor range around 1: b -> [max(0, 1 - b), 1 + b] (brightness, contrast).
data::Range around_one(double b, const std::string& path) {
  if (b < 0) config_fail("'{}' must be >= 0 (the factor lies in [1 - x, 1 + x]), got {}", path, b);
  return {float(std::max(0.0, 1 - b)), float(1 + b)};
}

data::FillMode fill_mode(const std::string& name, const std::string& path) {
  if (name == "constant") return data::FillMode::Constant;
  if (name == "nearest") return data::FillMode::Nearest;
  if (name == "reflect") return data::FillMode::Reflect;
  config_fail("'{}' must be constant, nearest or reflect, got '{}'", path, name);
}

}  // namespace

data::AugmentOptions parse_augment(YamlSection& s) {
  data::AugmentOptions o;
  o.rotation = float(s.get<double>("rotation", o.rotation));
  o.width_shift = float(s.get<double>("width_shift", o.width_shift));
  o.height_shift = float(s.get<double>("height_shift", o.height_shift));
  o.shear = float(s.get<double>("shear", o.shear));
  o.zoom = number_or_range(s, "zoom", o.zoom, [](double z, const std::string& path) {
    if (z < 0 || z >= 1)
      config_fail(
          "'{}': a single number z means zoom factors in [1 - z, 1 + z] and must lie in [0, 1), "
          "got {}",
          path, z);
    return data::Range{float(1 - z), float(1 + z)};
  });
  o.fill_mode = fill_mode(s.get<std::string>("fill_mode", "nearest"), s.path_of("fill_mode"));
  o.fill_value = float(s.get<double>("fill_value", o.fill_value));
  o.horizontal_flip = flip_probability(s, "horizontal_flip");
  o.vertical_flip = flip_probability(s, "vertical_flip");
  o.brightness = number_or_range(s, "brightness", o.brightness, around_one);
  o.contrast = number_or_range(s, "contrast", o.contrast, around_one);
  o.crop_padding = s.get<int>("crop_padding", o.crop_padding);

  YamlSection cutout = s.child("cutout");
  o.cutout.size = number_or_range(cutout, "size", o.cutout.size, [](double v, const std::string&) {
    return data::Range{float(v), float(v)};
  });
  o.cutout.probability = float(cutout.get<double>("probability", o.cutout.probability));
  o.cutout.fill_value = float(cutout.get<double>("fill_value", o.cutout.fill_value));
  cutout.finish();

  YamlSection elastic = s.child("elastic");
  o.elastic.alpha = float(elastic.get<double>("alpha", o.elastic.alpha));
  o.elastic.sigma = float(elastic.get<double>("sigma", o.elastic.sigma));
  o.elastic.probability = float(elastic.get<double>("probability", o.elastic.probability));
  elastic.finish();

  o.mixup = float(s.get<double>("mixup", o.mixup));
  o.cutmix = float(s.get<double>("cutmix", o.cutmix));
  s.finish();
  try {
    data::validate(o);
  } catch (const ConfigError&) {
    throw;
  } catch (const Error& e) {
    throw ConfigError(e.what());
  }
  return o;
}

}  // namespace convkit::run
