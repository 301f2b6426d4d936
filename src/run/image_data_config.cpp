// Parsing of the dataset keys about reading images (see image_data_config.h).
#include "run/image_data_config.h"

#include <convkit/run/errors.h>

namespace convkit::run {

namespace {

data::Range pair_of(YamlSection& s, const std::string& key, data::Range fallback) {
  if (!s.has(key)) {
    s.get<double>(key, 0);  // marks the key known
    return fallback;
  }
  const auto v = s.get<std::vector<double>>(key, {});
  if (v.size() != 2)
    config_fail("'{}' must be a list [lo, hi], got {} values", s.path_of(key), v.size());
  return {float(v[0]), float(v[1])};
}

}  // namespace

void parse_image_data(YamlSection& d, ImageDataConfig& out) {
  out.path = d.get<std::string>("path", out.path);
  out.test = d.get<std::string>("test", out.test);
  out.validation = d.get<std::string>("validation", out.validation);
  out.test_split = d.get<double>("test_split", out.test_split);
  if (out.test_split < 0 || out.test_split >= 1)
    config_fail("'{}' must be in [0, 1), got {}", d.path_of("test_split"), out.test_split);
  data::Geometry& g = out.geometry;
  out.resize_given = d.has("resize");
  const std::string resize = d.get<std::string>("resize", "stretch");
  const std::string interpolation = d.get<std::string>("interpolation", "bilinear");
  try {
    g.resize = data::parse_resize_policy(resize);
  } catch (const Error& e) {
    config_fail("'{}': {}", d.path_of("resize"), e.what());
  }
  try {
    g.interpolation = data::parse_interpolation(interpolation);
  } catch (const Error& e) {
    config_fail("'{}': {}", d.path_of("interpolation"), e.what());
  }
  g.crop_fraction = float(d.get<double>("crop_fraction", g.crop_fraction));
  if (!(g.crop_fraction > 0 && g.crop_fraction <= 1))
    config_fail("'{}' must be in (0, 1], got {}", d.path_of("crop_fraction"), g.crop_fraction);
  const int fill = d.get<int>("fill", 0);
  if (fill < 0 || fill > 255)
    config_fail("'{}' must be a pixel value in [0, 255], got {}", d.path_of("fill"), fill);
  g.fill = std::uint8_t(fill);
  if (d.has("random_resized_crop")) {
    const YAML::Node node = d.raw("random_resized_crop");
    bool on = false;
    if (node.IsScalar() && YAML::convert<bool>::decode(node, on)) {
      g.random_crop.enabled = on;
    } else if (node.IsMap()) {
      YamlSection rrc = d.child("random_resized_crop");
      g.random_crop.enabled = true;
      g.random_crop.scale = pair_of(rrc, "scale", g.random_crop.scale);
      g.random_crop.ratio = pair_of(rrc, "ratio", g.random_crop.ratio);
      rrc.finish();
      const auto& r = g.random_crop;
      if (!(r.scale.lo > 0 && r.scale.lo <= r.scale.hi && r.scale.hi <= 1))
        config_fail("'{}.scale' must satisfy 0 < lo <= hi <= 1, got [{}, {}]",
                    d.path_of("random_resized_crop"), r.scale.lo, r.scale.hi);
      if (!(r.ratio.lo > 0 && r.ratio.lo <= r.ratio.hi))
        config_fail("'{}.ratio' must satisfy 0 < lo <= hi, got [{}, {}]",
                    d.path_of("random_resized_crop"), r.ratio.lo, r.ratio.hi);
    } else {
      config_fail("'{}' must be true, false or {{scale: [lo, hi], ratio: [lo, hi]}}",
                  d.path_of("random_resized_crop"));
    }
  }
  if (d.has("cache")) {
    const YAML::Node node = d.raw("cache");
    bool on = false;
    if (node.IsScalar() && YAML::convert<bool>::decode(node, on))
      out.cache = on ? "auto" : "";
    else
      out.cache = YamlSection::as<std::string>(node, d.path_of("cache"));
    if (!out.cache.empty() && g.random_crop.enabled)
      config_fail(
          "'{}' holds each image at one size; random_resized_crop needs the originals "
          "(use augment.crop_padding for random crops of cached samples)",
          d.path_of("cache"));
  }
  out.workers = d.get<int>("workers", out.workers);
  if (out.workers < 1 || out.workers > 64)
    config_fail("'{}' must be between 1 and 64, got {}", d.path_of("workers"), out.workers);
  const std::string on_error = d.get<std::string>("on_error", "fail");
  if (on_error != "fail" && on_error != "skip")
    config_fail("'{}' must be fail or skip, got '{}'", d.path_of("on_error"), on_error);
  out.skip_bad_files = on_error == "skip";
}

}  // namespace convkit::run
