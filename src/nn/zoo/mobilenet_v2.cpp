// MobileNetV2 (Sandler et al. 2018), torchvision's mobilenet_v2 at width 1.0: a 3x3/2 conv of 32
// filters, 17 inverted residual blocks, a 1x1 conv to 1280, global average pool, dropout 0.2 and
// the classifier. A block expands x by t with a 1x1 conv (skipped when t = 1), filters it with a
// depthwise 3x3 conv (Conv2D with groups = channels, the block's stride), projects it back with a
// linear 1x1 conv (BN, no activation) and adds x where stride is 1 and the channels match.
// Every conv but the projection is followed by BN and ReLU6.
//
// Layer names are torchvision's (features.<i>.conv.<j>...), initialization too: convs
// N(0, 2 / fan_out) (fan_out = filters * k * k, as PyTorch counts it also for depthwise convs),
// BN gamma 1 / beta 0, the classifier N(0, 0.01^2) with zero bias.
#include "nn/zoo/zoo_internal.h"

#include <fmt/format.h>

#include <array>
#include <cmath>

namespace convkit::nn::zoo {

namespace {

// conv k x k, BN, ReLU6 (torchvision's Conv2dNormActivation): prefix.0, prefix.1, prefix.2.
Value conv_bn_relu6(const Value& x, const std::string& prefix, std::int64_t filters,
                    std::int64_t kernel, std::int64_t stride, std::int64_t groups = 1) {
  Value y = conv(x, prefix + ".0",
                 {.filters = filters,
                  .kernel = kernel,
                  .stride = stride,
                  .groups = groups,
                  .init = kaiming_fan_out(filters, kernel)});
  y = BatchNorm{.name = prefix + ".1"}(y);
  return ReLU6{.name = prefix + ".2"}(y);
}

Value inverted_residual(const Value& x, const std::string& name, std::int64_t out,
                        std::int64_t stride, std::int64_t expand) {
  const std::int64_t in = x.shape()[0];
  const std::int64_t hidden = std::llround(double(in) * double(expand));
  Value y = x;
  int j = 0;  // position in torchvision's block.conv
  if (expand != 1) y = conv_bn_relu6(y, fmt::format("{}.conv.{}", name, j++), hidden, 1, 1);
  y = conv_bn_relu6(y, fmt::format("{}.conv.{}", name, j++), hidden, 3, stride, hidden);
  y = conv(y, fmt::format("{}.conv.{}", name, j++),
           {.filters = out, .kernel = 1, .init = kaiming_fan_out(out, 1)});
  y = BatchNorm{.name = fmt::format("{}.conv.{}", name, j++)}(y);
  if (stride == 1 && in == out) y = Add{.name = name + ".add"}({x, y});
  return y;
}

}  // namespace

Value mobilenet_v2(const Value& input, const ZooOptions& o) {
  struct Stage {
    std::int64_t expand, channels;
    int blocks;
    std::int64_t stride;
  };
  // t, c, n, s of the paper's table 2.
  static constexpr std::array<Stage, 7> kStages{{{1, 16, 1, 1},
                                                 {6, 24, 2, 2},
                                                 {6, 32, 3, 2},
                                                 {6, 64, 4, 2},
                                                 {6, 96, 3, 1},
                                                 {6, 160, 3, 2},
                                                 {6, 320, 1, 1}}};
  Value x = conv_bn_relu6(input, "features.0", 32, 3, 2);
  int i = 1;
  for (const Stage& s : kStages)
    for (int b = 0; b < s.blocks; ++b, ++i)
      x = inverted_residual(x, fmt::format("features.{}", i), s.channels, b == 0 ? s.stride : 1,
                            s.expand);
  x = conv_bn_relu6(x, fmt::format("features.{}", i), 1280, 1, 1);
  x = GlobalAvgPool2D{.name = "avgpool"}(x);
  x = Dropout{.rate = 0.2, .name = "classifier.0"}(x);
  return Dense{.units = o.num_classes,
               .kernel_init = {.kind = InitKind::Normal, .a = 0.0f, .b = 0.01f},
               .bias_init = {.kind = InitKind::Zeros},
               .name = "classifier.1"}(x);
}

}  // namespace convkit::nn::zoo
