// VGG with batch norm, torchvision's vgg11_bn (configuration A) and vgg16_bn (D): stacks of
// conv3x3 (pad 1, bias) - BN - ReLU with 2x2 max pools between, 64 -> 512 filters, five pools
// (224 -> 7). Layers are named like torchvision's features.<index> and classifier.<index>.
//
// classifier imagenet (torchvision): the 512 x 7 x 7 features flattened -> Dense 4096 - ReLU -
//   Dropout 0.5 - Dense 4096 - ReLU - Dropout 0.5 - Dense classes. NOTE: torchvision first applies
//   AdaptiveAvgPool2d(7), which convkit does not have; a 7x7 map passes as it is, and a map of
//   7k x 7k (input 448, ...) goes through a k x k average pool, which is what the adaptive pool
//   computes there. Any other map size is an error that suggests global_pool.
// classifier global_pool (the CIFAR VGGs): global average pool -> Dense classes (a 32x32 input
//   leaves a 1x1 map, so this is the usual flatten + Linear(512, classes)).
// Initialization as torchvision: convs N(0, 2 / fan_out) with zero bias, BN gamma 1 / beta 0,
// Dense N(0, 0.01^2) with zero bias.
#include "nn/zoo/zoo_internal.h"

#include <fmt/format.h>

#include <vector>

namespace convkit::nn::zoo {

namespace {

constexpr std::int64_t kPool = 0;  // "M" of torchvision's cfgs

Dense linear(std::int64_t units, const std::string& name, Activation activation) {
  return Dense{.units = units,
               .activation = activation,
               .kernel_init = {.kind = InitKind::Normal, .a = 0.0f, .b = 0.01f},
               .bias_init = {.kind = InitKind::Zeros},
               .name = name};
}

}  // namespace

Value vgg(const Value& input, const ZooOptions& o) {
  static const std::vector<std::int64_t> kVgg11{64,  kPool, 128,   kPool, 256, 256,  kPool,
                                                512, 512,   kPool, 512,   512, kPool};
  static const std::vector<std::int64_t> kVgg16{64,  64,    kPool, 128,   128, kPool,
                                                256, 256,   256,   kPool, 512, 512,
                                                512, kPool, 512,   512,   512, kPool};
  Value x = input;
  int index = 0;  // torchvision's position in `features`: conv, bn, relu or pool
  for (std::int64_t v : o.name == "vgg11_bn" ? kVgg11 : kVgg16) {
    if (v == kPool) {
      x = MaxPool2D{.pool = 2, .stride = 2, .name = fmt::format("features.{}", index++)}(x);
      continue;
    }
    x = conv(x, fmt::format("features.{}", index++),
             {.filters = v, .kernel = 3, .bias = true, .init = kaiming_fan_out(v, 3)});
    x = BatchNorm{.name = fmt::format("features.{}", index++)}(x);
    x = ReLU{.name = fmt::format("features.{}", index++)}(x);
  }
  if (o.classifier == "global_pool") {
    x = GlobalAvgPool2D{.name = "avgpool"}(x);
    return linear(o.num_classes, "classifier", Activation::None)(x);
  }
  const Shape map = x.shape();  // [512, H / 32, W / 32]
  if (map[1] % 7 != 0 || map[2] % 7 != 0)
    throw ZooOptionError(
        "classifier",
        fmt::format("zoo model {}: classifier 'imagenet' needs a 7x7 feature map (input 224 to "
                    "255 pixels a side, or a multiple of 7 after the five 2x2 max pools), but the "
                    "input [{}, {}, {}] leaves {}x{}: use classifier 'global_pool'",
                    o.name, o.input[0], o.input[1], o.input[2], map[1], map[2]));
  if (map[1] != 7 || map[2] != 7)
    x = AvgPool2D{.pool = {map[1] / 7, map[2] / 7}, .name = "avgpool"}(x);
  x = Flatten{.name = "flatten"}(x);
  x = linear(4096, "classifier.0", Activation::None)(x);
  x = ReLU{.name = "classifier.1"}(x);
  x = Dropout{.rate = 0.5, .name = "classifier.2"}(x);
  x = linear(4096, "classifier.3", Activation::None)(x);
  x = ReLU{.name = "classifier.4"}(x);
  x = Dropout{.rate = 0.5, .name = "classifier.5"}(x);
  return linear(o.num_classes, "classifier.6", Activation::None)(x);
}

}  // namespace convkit::nn::zoo
