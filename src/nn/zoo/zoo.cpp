// The zoo's table: one row per network (name, its family's builder, the stems and classifiers it
// takes), option checks with errors that list the valid values, and build_zoo_model.
#include <convkit/nn/zoo.h>

#include "nn/zoo/zoo_internal.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>
#include <span>
#include <string_view>
#include <vector>

namespace convkit::nn {

namespace {

struct ZooEntry {
  std::string_view name;
  Value (*build)(const Value& x, const ZooOptions& o);
  std::vector<std::string_view> stems;        // the first is the default; empty: no option
  std::vector<std::string_view> classifiers;  // the same
  bool residual = false;                      // takes zero_init_residual
};

const std::vector<ZooEntry>& table() {
  // clang-format off
  static const std::vector<ZooEntry> entries = {
    {"resnet18",           zoo::resnet,            {"imagenet", "cifar"}, {},                          true},
    {"resnet34",           zoo::resnet,            {"imagenet", "cifar"}, {},                          true},
    {"resnet20",           zoo::cifar_resnet,      {"cifar"},             {},                          true},
    {"resnet32",           zoo::cifar_resnet,      {"cifar"},             {},                          true},
    {"resnet44",           zoo::cifar_resnet,      {"cifar"},             {},                          true},
    {"resnet56",           zoo::cifar_resnet,      {"cifar"},             {},                          true},
    {"vgg11_bn",           zoo::vgg,               {},                    {"imagenet", "global_pool"}, false},
    {"vgg16_bn",           zoo::vgg,               {},                    {"imagenet", "global_pool"}, false},
    {"mobilenet_v2",       zoo::mobilenet_v2,      {"imagenet"},          {},                          false},
    {"efficientnet_lite0", zoo::efficientnet_lite, {"imagenet"},          {},                          false},
  };
  // clang-format on
  return entries;
}

[[noreturn]] void option_fail(const std::string& option, const std::string& message) {
  throw ZooOptionError(option, message);
}

// `value` ("" = the default) among `valid`; returns the value to build with.
std::string choose(const ZooEntry& e, const std::string& option, const std::string& value,
                   const std::vector<std::string_view>& valid) {
  if (valid.empty()) {
    if (value.empty()) return value;
    option_fail(option, fmt::format("zoo model {}: option '{}' does not apply to it (got '{}')",
                                    e.name, option, value));
  }
  if (value.empty()) return std::string(valid.front());
  if (std::find(valid.begin(), valid.end(), value) == valid.end())
    option_fail(option, fmt::format("zoo model {}: option '{}' must be {}, got '{}'", e.name,
                                    option, fmt::join(valid, " or "), value));
  return value;
}

// The row of o.name and the options with defaults filled in.
std::pair<const ZooEntry*, ZooOptions> resolve(const ZooOptions& options) {
  const auto& rows = table();
  auto it = std::find_if(rows.begin(), rows.end(),
                         [&](const ZooEntry& e) { return e.name == options.name; });
  if (it == rows.end())
    option_fail("name", fmt::format("unknown zoo model '{}' (known: {})", options.name,
                                    fmt::join(zoo_names(), ", ")));
  ZooOptions o = options;
  o.stem = choose(*it, "stem", o.stem, it->stems);
  o.classifier = choose(*it, "classifier", o.classifier, it->classifiers);
  if (o.zero_init_residual && !it->residual)
    option_fail("zero_init_residual",
                fmt::format("zoo model {}: option 'zero_init_residual' applies to the ResNets only",
                            it->name));
  if (o.num_classes < 1)
    option_fail("num_classes",
                fmt::format("zoo model {}: option 'num_classes' must be >= 1, got {}", it->name,
                            o.num_classes));
  for (auto d : o.input)
    if (d < 1)
      option_fail("input", fmt::format("zoo model {}: option 'input' must be [C, H, W] with every "
                                       "dimension >= 1, got [{}]",
                                       it->name, fmt::join(o.input, ", ")));
  return {&*it, o};
}

}  // namespace

namespace zoo {

Init kaiming_fan_out(std::int64_t filters, std::int64_t kernel) {
  return {.kind = InitKind::Normal,
          .a = 0.0f,
          .b = float(std::sqrt(2.0 / double(filters * kernel * kernel)))};
}

Value conv(const Value& x, const std::string& name, const ConvSpec& s) {
  const std::int64_t p = s.kernel / 2;
  return Conv2D{.filters = s.filters,
                .kernel = s.kernel,
                .stride = s.stride,
                .padding = Padding::Explicit,
                .pads = {p, p, p, p},
                .groups = s.groups,
                .use_bias = s.bias,
                .kernel_init = s.init,
                .bias_init = {.kind = InitKind::Zeros},
                .name = name}(x);
}

}  // namespace zoo

void check_zoo_options(const ZooOptions& options) {
  resolve(options);
}

std::pair<Value, Value> zoo::build_values(const ZooOptions& options) {
  auto [entry, o] = resolve(options);
  Value x = Input(Shape({o.input[0], o.input[1], o.input[2]}));
  return {x, entry->build(x, o)};
}

Model build_zoo_model(const ZooOptions& options) {
  auto [input, logits] = zoo::build_values(options);
  return Model(input, logits);
}

std::vector<std::string> zoo_names() {
  std::vector<std::string> names;
  for (const auto& e : table()) names.emplace_back(e.name);
  return names;
}

}  // namespace convkit::nn
