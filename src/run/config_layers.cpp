// The YAML layer table: type name -> parser building the nn layer struct.
#include "run/config_layers.h"

#include "run/yaml_section.h"

#include <fmt/ranges.h>

#include <cmath>
#include <utility>

namespace convkit::run {

namespace {

nn::Size2 size2(YamlSection& s, const std::string& key, nn::Size2 fallback) {
  if (!s.has(key)) {
    s.get<std::string>(key, "");  // mark as known
    return fallback;
  }
  auto v = s.get<std::vector<std::int64_t>>(key, {});
  if (v.size() == 1) return {v[0], v[0]};
  if (v.size() == 2) return {v[0], v[1]};
  config_fail("'{}' must be one integer or [height, width], got {} values", s.path_of(key), v.size());
}

nn::Activation activation(YamlSection& s) {
  const auto name = s.get<std::string>("activation", "none");
  static const std::pair<const char*, nn::Activation> kNames[] = {
      {"none", nn::Activation::None}, {"linear", nn::Activation::None}, {"relu", nn::Activation::ReLU},
      {"leaky_relu", nn::Activation::LeakyReLU}, {"elu", nn::Activation::ELU}, {"gelu", nn::Activation::GELU},
      {"silu", nn::Activation::SiLU}, {"swish", nn::Activation::SiLU}, {"sigmoid", nn::Activation::Sigmoid},
      {"tanh", nn::Activation::Tanh}, {"softmax", nn::Activation::Softmax}};
  for (auto& [n, a] : kNames)
    if (name == n) return a;
  config_fail("'{}': unknown activation '{}' (expected none, relu, leaky_relu, elu, gelu, silu, sigmoid, tanh, softmax)",
              s.path_of("activation"), name);
}

// padding: valid | same | [top, left, bottom, right] (or one integer for all sides).
void padding(YamlSection& s, nn::Padding& mode, nn::Pads& pads) {
  if (!s.has("padding")) {
    s.get<std::string>("padding", "");
    return;
  }
  YAML::Node n = s.raw("padding");
  if (n.IsScalar() && (n.Scalar() == "valid" || n.Scalar() == "same")) {
    mode = n.Scalar() == "same" ? nn::Padding::Same : nn::Padding::Valid;
    return;
  }
  auto v = YamlSection::as<std::vector<std::int64_t>>(n, s.path_of("padding"));
  mode = nn::Padding::Explicit;
  if (v.size() == 1) pads = {v[0], v[0], v[0], v[0]};
  else if (v.size() == 2) pads = {v[0], v[1], v[0], v[1]};
  else if (v.size() == 4) pads = {v[0], v[1], v[2], v[3]};
  else config_fail("'{}' must be valid, same, one integer, [h, w] or [top, left, bottom, right]", s.path_of("padding"));
}

Init init(YamlSection& s, const std::string& key) {
  const auto name = s.get<std::string>(key, "default");
  try {
    return Init{init_kind_from_name(name)};
  } catch (const Error& e) {
    config_fail("'{}': {}", s.path_of(key), e.what());
  }
}

// `l1: x` / `l2: x` on a conv2d or dense layer: a Keras-style penalty on its kernel.
nn::Regularizer regularizer(YamlSection& s) {
  nn::Regularizer r;
  for (auto [key, value] : {std::pair{"l1", &r.l1}, std::pair{"l2", &r.l2}}) {
    *value = s.get<double>(key, 0.0);
    if (!(*value >= 0) || !std::isfinite(*value))
      config_fail("'{}' must be a finite number >= 0, got {}", s.path_of(key), *value);
  }
  return r;
}

nn::Layer conv2d(YamlSection& s) {
  nn::Conv2D l{.filters = s.required<std::int64_t>("filters")};
  l.kernel = size2(s, "kernel", l.kernel);
  l.stride = size2(s, "stride", l.stride);
  l.dilation = size2(s, "dilation", l.dilation);
  padding(s, l.padding, l.pads);
  l.groups = s.get<std::int64_t>("groups", 1);
  l.use_bias = s.get<bool>("use_bias", true);
  l.activation = activation(s);
  l.kernel_init = init(s, "kernel_init");
  l.bias_init = init(s, "bias_init");
  l.regularizer = regularizer(s);
  l.name = s.get<std::string>("name", "");
  l.trainable = s.get<bool>("trainable", true);
  return l;
}

nn::Layer dense(YamlSection& s) {
  nn::Dense l{.units = s.required<std::int64_t>("units")};
  l.use_bias = s.get<bool>("use_bias", true);
  l.activation = activation(s);
  l.kernel_init = init(s, "kernel_init");
  l.bias_init = init(s, "bias_init");
  l.regularizer = regularizer(s);
  l.name = s.get<std::string>("name", "");
  l.trainable = s.get<bool>("trainable", true);
  return l;
}

template <typename Pool> nn::Layer pool(YamlSection& s) {
  Pool l;
  l.pool = size2(s, "pool", l.pool);
  l.stride = size2(s, "stride", l.stride);
  padding(s, l.padding, l.pads);
  if constexpr (std::is_same_v<Pool, nn::AvgPool2D>) l.count_include_pad = s.get<bool>("count_include_pad", false);
  l.name = s.get<std::string>("name", "");
  return l;
}

nn::Layer global_avg_pool(YamlSection& s) {
  return nn::GlobalAvgPool2D{.keepdims = s.get<bool>("keepdims", false), .name = s.get<std::string>("name", "")};
}

nn::Layer batch_norm(YamlSection& s) {
  nn::BatchNorm l;
  l.momentum = s.get<double>("momentum", l.momentum);
  l.epsilon = s.get<double>("epsilon", l.epsilon);
  l.activation = activation(s);
  l.name = s.get<std::string>("name", "");
  l.trainable = s.get<bool>("trainable", true);
  return l;
}

nn::Layer dropout(YamlSection& s) {
  return nn::Dropout{.rate = s.get<double>("rate", 0.5), .name = s.get<std::string>("name", "")};
}
nn::Layer spatial_dropout(YamlSection& s) {
  return nn::SpatialDropout2D{.rate = s.get<double>("rate", 0.5), .name = s.get<std::string>("name", "")};
}
template <typename L> nn::Layer simple(YamlSection& s) { return L{.name = s.get<std::string>("name", "")}; }
nn::Layer leaky_relu(YamlSection& s) {
  return nn::LeakyReLU{.alpha = s.get<double>("alpha", 0.01), .name = s.get<std::string>("name", "")};
}
nn::Layer elu(YamlSection& s) { return nn::ELU{.alpha = s.get<double>("alpha", 1.0), .name = s.get<std::string>("name", "")}; }
nn::Layer gelu(YamlSection& s) {
  return nn::GELU{.tanh_approximation = s.get<std::string>("approximate", "none") == "tanh",
                  .name = s.get<std::string>("name", "")};
}
nn::Layer reshape(YamlSection& s) {
  return nn::Reshape{.shape = s.required<std::vector<std::int64_t>>("shape"), .name = s.get<std::string>("name", "")};
}

nn::Layer residual(YamlSection& s);

using Parser = nn::Layer (*)(YamlSection&);
const std::pair<const char*, Parser> kLayerTable[] = {
    {"conv2d", conv2d},
    {"dense", dense},
    {"max_pool2d", pool<nn::MaxPool2D>},
    {"avg_pool2d", pool<nn::AvgPool2D>},
    {"global_avg_pool2d", global_avg_pool},
    {"batch_norm", batch_norm},
    {"dropout", dropout},
    {"spatial_dropout2d", spatial_dropout},
    {"relu", simple<nn::ReLU>},
    {"leaky_relu", leaky_relu},
    {"elu", elu},
    {"gelu", gelu},
    {"silu", simple<nn::SiLU>},
    {"sigmoid", simple<nn::Sigmoid>},
    {"tanh", simple<nn::Tanh>},
    {"softmax", simple<nn::Softmax>},
    {"flatten", simple<nn::Flatten>},
    {"reshape", reshape},
    {"residual", residual},
};

// {type: residual, layers: [...], activation: relu}: y = act(x + f(x)), where f is the list of
// layers; when f changes the shape, x passes through a 1x1 convolution (stride to match) and BN.
nn::Layer residual(YamlSection& s) {
  auto inner = parse_layers(s.raw("layers"), s.path_of("layers"));
  const nn::Activation act = activation(s);
  const std::string name = s.get<std::string>("name", "");
  return [inner, act, name](const nn::Value& x) {
    nn::Value y = x;
    for (const auto& layer : inner) y = layer(y);
    nn::Value shortcut = x;
    const Shape xs = x.shape(), ys = y.shape();
    if (xs != ys) {
      if (xs.rank() != 3 || ys.rank() != 3 || xs[1] % ys[1] != 0 || xs[2] % ys[2] != 0)
        fail("residual block{}: cannot project the input {} to the block's output {}", name.empty() ? "" : " '" + name + "'",
             xs.str(), ys.str());
      shortcut = nn::Conv2D{.filters = ys[0], .kernel = 1, .stride = {xs[1] / ys[1], xs[2] / ys[2]}, .use_bias = false}(x);
      shortcut = nn::BatchNorm{}(shortcut);
    }
    nn::Value sum = nn::Add{.name = name}({shortcut, y});
    return nn::apply_activation(sum, act, "");
  };
}

}  // namespace

std::vector<std::string> layer_type_names() {
  std::vector<std::string> names;
  for (auto& [n, p] : kLayerTable) names.push_back(n);
  return names;
}

std::vector<nn::Layer> parse_layers(const YAML::Node& layers, const std::string& path) {
  if (!layers || !layers.IsSequence() || layers.size() == 0)
    config_fail("'{}' must be a non-empty list of layers like {{type: conv2d, filters: 32}}", path);
  std::vector<nn::Layer> out;
  for (std::size_t i = 0; i < layers.size(); ++i) {
    YamlSection s(layers[i], fmt::format("{}[{}]", path, i));
    const auto type = s.required<std::string>("type");
    Parser parser = nullptr;
    for (auto& [n, p] : kLayerTable)
      if (type == n) parser = p;
    if (!parser)
      config_fail("'{}': unknown layer type '{}' (known: {})", s.path_of("type"), type, fmt::join(layer_type_names(), ", "));
    out.push_back(parser(s));
    s.finish();
  }
  return out;
}

}  // namespace convkit::run
