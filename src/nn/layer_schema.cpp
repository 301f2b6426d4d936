// The layer table: config type name -> the reader filling its option struct, the op it adds to
// the graph and its ONNX op (see convkit/nn/layer_schema.h). Key names and defaults live here,
// once; errors read "'<key path>' ..." through the reader.
#include <convkit/nn/layer_schema.h>

#include "ops/activation_table.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>
#include <utility>

namespace convkit::nn {

namespace {

using R = LayerReader;

template <typename... Args>
[[noreturn]] void reader_fail(const R& r, fmt::format_string<Args...> format, Args&&... args) {
  r.error(fmt::format(format, std::forward<Args>(args)...));
}

Size2 size2(R& r, const std::string& key, Size2 fallback) {
  if (!r.has(key)) {
    r.get_string(key, "");  // mark as known
    return fallback;
  }
  auto v = r.get_ints(key, {});
  if (v.size() == 1) return {v[0], v[0]};
  if (v.size() == 2) return {v[0], v[1]};
  reader_fail(r, "'{}' must be one integer or [height, width], got {} values", r.path_of(key),
              v.size());
}

// One integer (all sides), [h, w] or [top, left, bottom, right].
Pads pads_of(R& r, const std::string& key, const std::vector<std::int64_t>& v) {
  if (v.size() == 1) return {v[0], v[0], v[0], v[0]};
  if (v.size() == 2) return {v[0], v[1], v[0], v[1]};
  if (v.size() == 4) return {v[0], v[1], v[2], v[3]};
  reader_fail(r, "'{}' must be valid, same, one integer, [h, w] or [top, left, bottom, right]",
              r.path_of(key));
}

// padding: valid | same | [top, left, bottom, right] (or one integer for all sides).
void padding(R& r, Padding& mode, Pads& pads) {
  if (!r.has("padding")) {
    r.get_string("padding", "");
    return;
  }
  if (auto word = r.scalar("padding"); word && (*word == "valid" || *word == "same")) {
    mode = *word == "same" ? Padding::Same : Padding::Valid;
    return;
  }
  auto v = r.get_ints("padding", {});
  mode = Padding::Explicit;
  pads = pads_of(r, "padding", v);
}

Init init(R& r, const std::string& key) {
  const auto name = r.get_string(key, "default");
  try {
    return Init{init_kind_from_name(name)};
  } catch (const Error& e) {
    reader_fail(r, "'{}': {}", r.path_of(key), e.what());
  }
}

// `l1: x` / `l2: x` on a conv2d or dense layer: a Keras-style penalty on its kernel.
Regularizer regularizer(R& r) {
  Regularizer reg;
  for (auto [key, value] : {std::pair{"l1", &reg.l1}, std::pair{"l2", &reg.l2}}) {
    *value = r.get_float(key, 0.0);
    if (!(*value >= 0) || !std::isfinite(*value))
      reader_fail(r, "'{}' must be a finite number >= 0, got {}", r.path_of(key), *value);
  }
  return reg;
}

std::string name(R& r) {
  return r.get_string("name", "");
}

Layer conv2d(R& r) {
  Conv2D l{.filters = r.required_int("filters")};
  l.kernel = size2(r, "kernel", l.kernel);
  l.stride = size2(r, "stride", l.stride);
  l.dilation = size2(r, "dilation", l.dilation);
  padding(r, l.padding, l.pads);
  l.groups = r.get_int("groups", 1);
  l.use_bias = r.get_bool("use_bias", true);
  l.activation = read_activation(r);
  l.kernel_init = init(r, "kernel_init");
  l.bias_init = init(r, "bias_init");
  l.regularizer = regularizer(r);
  l.name = name(r);
  l.trainable = r.get_bool("trainable", true);
  return l;
}

Layer dense(R& r) {
  Dense l{.units = r.required_int("units")};
  l.use_bias = r.get_bool("use_bias", true);
  l.activation = read_activation(r);
  l.kernel_init = init(r, "kernel_init");
  l.bias_init = init(r, "bias_init");
  l.regularizer = regularizer(r);
  l.name = name(r);
  l.trainable = r.get_bool("trainable", true);
  return l;
}

template <typename Pool>
Layer pool(R& r) {
  Pool l;
  l.pool = size2(r, "pool", l.pool);
  l.stride = size2(r, "stride", l.stride);
  padding(r, l.padding, l.pads);
  if constexpr (std::is_same_v<Pool, AvgPool2D>)
    l.count_include_pad = r.get_bool("count_include_pad", false);
  l.name = name(r);
  return l;
}

Layer global_avg_pool(R& r) {
  return GlobalAvgPool2D{.keepdims = r.get_bool("keepdims", false), .name = name(r)};
}

Layer batch_norm(R& r) {
  BatchNorm l;
  l.momentum = r.get_float("momentum", l.momentum);
  l.epsilon = r.get_float("epsilon", l.epsilon);
  l.activation = read_activation(r);
  l.name = name(r);
  l.trainable = r.get_bool("trainable", true);
  return l;
}

Layer dropout(R& r) {
  return Dropout{.rate = r.get_float("rate", 0.5), .name = name(r)};
}
Layer spatial_dropout(R& r) {
  return SpatialDropout2D{.rate = r.get_float("rate", 0.5), .name = name(r)};
}
template <typename L>
Layer simple(R& r) {
  return L{.name = name(r)};
}
Layer leaky_relu(R& r) {
  return LeakyReLU{.alpha = r.get_float("alpha", 0.01), .name = name(r)};
}
Layer elu(R& r) {
  return ELU{.alpha = r.get_float("alpha", 1.0), .name = name(r)};
}
Layer gelu(R& r) {
  return GELU{.tanh_approximation = r.get_string("approximate", "none") == "tanh", .name = name(r)};
}
Layer clip(R& r) {
  Clip l{.min = r.get_float("min", 0.0), .max = r.get_float("max", 6.0)};
  if (!std::isfinite(l.min) || !std::isfinite(l.max) || !(l.min <= l.max))
    reader_fail(r, "'{}' must be finite and >= '{}' ({}), got {}", r.path_of("max"),
                r.path_of("min"), l.min, l.max);
  l.name = name(r);
  return l;
}
Layer reshape(R& r) {
  return Reshape{.shape = r.required_ints("shape"), .name = name(r)};
}

// {type: pad, padding: 1 | [h, w] | [top, left, bottom, right], value: 0}
Layer pad(R& r) {
  Pad l;
  l.pads = pads_of(r, "padding", r.required_ints("padding"));
  if (std::any_of(l.pads.begin(), l.pads.end(), [](std::int64_t p) { return p < 0; }))
    reader_fail(r, "'{}' must be >= 0", r.path_of("padding"));
  l.value = r.get_float("value", 0.0);
  l.name = name(r);
  return l;
}

// {type: resize, size: 64 | [h, w], mode: bilinear | nearest}
Layer resize(R& r) {
  if (!r.has("size")) reader_fail(r, "missing required key '{}'", r.path_of("size"));
  const Size2 size = size2(r, "size", {});
  Resize l{.height = size.h, .width = size.w, .mode = r.get_string("mode", "bilinear")};
  if (l.height < 1 || l.width < 1) reader_fail(r, "'{}' must be >= 1", r.path_of("size"));
  if (l.mode != "bilinear" && l.mode != "nearest")
    reader_fail(r, "'{}' must be bilinear or nearest, got '{}'", r.path_of("mode"), l.mode);
  l.name = name(r);
  return l;
}

// {type: residual, layers: [...], activation: relu}: y = act(x + f(x)), where f is the list of
// layers; when f changes the shape, x passes through a 1x1 convolution (stride to match) and BN.
Layer residual(R& r) {
  auto inner = r.layers("layers");
  const Activation act = read_activation(r);
  const std::string block = name(r);
  return [inner, act, block](const Value& x) {
    Value y = x;
    for (const auto& layer : inner) y = layer(y);
    Value shortcut = x;
    const Shape xs = x.shape(), ys = y.shape();
    if (xs != ys) {
      if (xs.rank() != 3 || ys.rank() != 3 || xs[1] % ys[1] != 0 || xs[2] % ys[2] != 0)
        fail("residual block{}: cannot project the input {} to the block's output {}",
             block.empty() ? "" : " '" + block + "'", xs.str(), ys.str());
      shortcut = Conv2D{.filters = ys[0],
                        .kernel = 1,
                        .stride = {xs[1] / ys[1], xs[2] / ys[2]},
                        .use_bias = false}(x);
      shortcut = BatchNorm{}(shortcut);
    }
    Value sum = Add{.name = block}({shortcut, y});
    return apply_activation(sum, act, "");
  };
}

// {type: squeeze_excitation, squeeze: 8, activation: relu, gate: hard_sigmoid} (MobileNetV3,
// SENet): y = x * gate(conv1x1(act(conv1x1(global_avg_pool(x))))) over [C, H, W]; squeeze
// defaults to C / 4 (at least 1).
Layer squeeze_excitation(R& r) {
  const std::int64_t squeeze = r.get_int("squeeze", 0);
  if (squeeze < 0)
    reader_fail(r, "'{}' must be >= 1 (or 0: channels / 4), got {}", r.path_of("squeeze"), squeeze);
  const Activation act = read_activation(r, "activation", Activation::ReLU);
  const Activation gate = read_activation(r, "gate", Activation::Sigmoid);
  const std::string block = name(r);
  return [squeeze, act, gate, block](const Value& x) {
    const Shape xs = x.shape();
    if (xs.rank() != 3)
      fail("squeeze_excitation block{}: needs a [C, H, W] input, got {}",
           block.empty() ? "" : " '" + block + "'", xs.str());
    const std::int64_t c = xs[0], s = squeeze > 0 ? squeeze : std::max<std::int64_t>(1, c / 4);
    Value g = GlobalAvgPool2D{.keepdims = true}(x);
    g = Conv2D{.filters = s, .kernel = 1, .activation = act}(g);
    g = Conv2D{.filters = c, .kernel = 1, .activation = gate}(g);
    return Multiply{.name = block}({x, g});
  };
}

// clang-format off
const LayerSchema kLayers[] = {
  // type                  reader                     op                 ONNX
  {"conv2d",               conv2d,                    "Conv2D",          "Conv"},
  {"dense",                dense,                     "Dense",           "Gemm"},
  {"max_pool2d",           pool<MaxPool2D>,           "MaxPool2D",       "MaxPool"},
  {"avg_pool2d",           pool<AvgPool2D>,           "AvgPool2D",       "AveragePool"},
  {"global_avg_pool2d",    global_avg_pool,           "GlobalAvgPool",   "GlobalAveragePool"},
  {"batch_norm",           batch_norm,                "BatchNorm",       "BatchNormalization"},
  {"dropout",              dropout,                   "Dropout",         "Dropout"},
  {"spatial_dropout2d",    spatial_dropout,           "Dropout",         ""},
  {"relu",                 simple<ReLU>,              "ReLU",            "Relu"},
  {"leaky_relu",           leaky_relu,                "LeakyReLU",       "LeakyRelu"},
  {"elu",                  elu,                       "ELU",             "Elu"},
  {"gelu",                 gelu,                      "GELU",            "Gelu"},
  {"silu",                 simple<SiLU>,              "SiLU",            ""},
  {"sigmoid",              simple<Sigmoid>,           "Sigmoid",         "Sigmoid"},
  {"tanh",                 simple<Tanh>,              "Tanh",            "Tanh"},
  {"softmax",              simple<Softmax>,           "Softmax",         "Softmax"},
  {"relu6",                simple<ReLU6>,             "ReLU6",           "Clip"},
  {"clip",                 clip,                      "Clip",            "Clip"},
  {"hard_swish",           simple<HardSwish>,         "HardSwish",       "HardSwish"},
  {"hard_sigmoid",         simple<HardSigmoid>,       "HardSigmoid",     "HardSigmoid"},
  {"flatten",              simple<Flatten>,           "Flatten",         "Flatten"},
  {"reshape",              reshape,                   "Reshape",         "Reshape"},
  {"pad",                  pad,                       "Pad",             "Pad"},
  {"resize",               resize,                    "Resize",          "Resize"},
  {"residual",             residual,                  "",                ""},
  {"squeeze_excitation",   squeeze_excitation,        "",                ""},
};
// clang-format on

}  // namespace

std::span<const LayerSchema> layer_schemas() {
  return kLayers;
}

const LayerSchema* find_layer_schema(std::string_view type) {
  for (const auto& row : kLayers)
    if (row.type == type) return &row;
  return nullptr;
}

std::vector<std::string> layer_type_names() {
  std::vector<std::string> names;
  for (const auto& row : kLayers) names.emplace_back(row.type);
  return names;
}

Activation read_activation(LayerReader& r, const std::string& key, Activation fallback) {
  const auto name = r.get_string(key, std::string(ops::activation_info(fallback).name));
  const ops::ActivationInfo* a = ops::find_activation(name);
  if (a && a->kind == Activation::Clip)
    reader_fail(
        r, "'{}': activation 'clip' needs bounds: use a {{type: clip, min: ..., max: ...}} layer",
        r.path_of(key));
  if (!a)
    reader_fail(r, "'{}': unknown activation '{}' (expected {})", r.path_of(key), name,
                ops::activation_names());
  return a->kind;
}

}  // namespace convkit::nn
