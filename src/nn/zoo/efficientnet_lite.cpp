// EfficientNet-Lite0 (Tan & Le 2019; the Lite variants of the TF reference's
// efficientnet/lite): EfficientNet-B0's block table with no squeeze-excitation, ReLU6 instead of
// swish, and the stem (32) and head (1280) fixed. Layout and names as timm's efficientnet_lite0:
//   conv_stem 3x3/2 (32), bn1 + ReLU6
//   blocks.0: one depthwise-separable block: conv_dw 3x3, bn1 + ReLU6, conv_pw 1x1 (16), bn2
//   blocks.1-6: inverted residuals: conv_pw 1x1 (x6), bn1 + ReLU6, conv_dw k x k (stride on a
//     stage's first block), bn2 + ReLU6, conv_pwl 1x1, bn3; x added where stride 1 and channels
//     match
//   conv_head 1x1 (1280), bn2 + ReLU6, global average pool, dropout 0.2 (the TF reference's
//   rate for lite0), classifier.
// Stages (repeats, kernel, stride, expansion, channels): (1,3,1,1,16) (2,3,2,6,24) (2,5,2,6,40)
// (3,3,2,6,80) (3,5,1,6,112) (4,5,2,6,192) (1,3,1,6,320).
// Padding is PyTorch's symmetric k / 2 (timm's efficientnet_lite0; its tf_ twin pads like
// TensorFlow's "same"). Initialization as timm's (_init_weight_goog): convs N(0, 2 / fan_out) with
// fan_out = filters * k * k / groups, BN gamma 1 / beta 0, the classifier U(-1/sqrt(classes),
// 1/sqrt(classes)) with zero bias.
#include "nn/zoo/zoo_internal.h"

#include <fmt/format.h>

#include <array>
#include <cmath>

namespace convkit::nn::zoo {

namespace {

// conv (timm's init: fan_out divided by groups), then BN with or without ReLU6.
Value conv_bn(const Value& x, const std::string& conv_name, const std::string& bn_name,
              std::int64_t filters, std::int64_t kernel, std::int64_t stride, std::int64_t groups,
              bool relu6) {
  const double fan_out = double(filters / groups * kernel * kernel);
  Value y =
      conv(x, conv_name,
           {.filters = filters,
            .kernel = kernel,
            .stride = stride,
            .groups = groups,
            .init = {.kind = InitKind::Normal, .a = 0.0f, .b = float(std::sqrt(2.0 / fan_out))}});
  y = BatchNorm{.name = bn_name}(y);
  return relu6 ? ReLU6{.name = bn_name + ".act"}(y) : y;
}

Value depthwise_separable(const Value& x, const std::string& n, std::int64_t out,
                          std::int64_t kernel, std::int64_t stride) {
  const std::int64_t in = x.shape()[0];
  Value y = conv_bn(x, n + ".conv_dw", n + ".bn1", in, kernel, stride, in, true);
  y = conv_bn(y, n + ".conv_pw", n + ".bn2", out, 1, 1, 1, false);
  return stride == 1 && in == out ? Add{.name = n + ".add"}({x, y}) : y;
}

Value inverted_residual(const Value& x, const std::string& n, std::int64_t out, std::int64_t kernel,
                        std::int64_t stride, std::int64_t expand) {
  const std::int64_t in = x.shape()[0], mid = in * expand;
  Value y = conv_bn(x, n + ".conv_pw", n + ".bn1", mid, 1, 1, 1, true);
  y = conv_bn(y, n + ".conv_dw", n + ".bn2", mid, kernel, stride, mid, true);
  y = conv_bn(y, n + ".conv_pwl", n + ".bn3", out, 1, 1, 1, false);
  return stride == 1 && in == out ? Add{.name = n + ".add"}({x, y}) : y;
}

}  // namespace

Value efficientnet_lite(const Value& input, const ZooOptions& o) {
  struct Stage {
    int repeats;
    std::int64_t kernel, stride, expand, channels;
  };
  static constexpr std::array<Stage, 7> kStages{{{1, 3, 1, 1, 16},
                                                 {2, 3, 2, 6, 24},
                                                 {2, 5, 2, 6, 40},
                                                 {3, 3, 2, 6, 80},
                                                 {3, 5, 1, 6, 112},
                                                 {4, 5, 2, 6, 192},
                                                 {1, 3, 1, 6, 320}}};
  Value x = conv_bn(input, "conv_stem", "bn1", 32, 3, 2, 1, true);
  for (std::size_t s = 0; s < kStages.size(); ++s) {
    const Stage& st = kStages[s];
    for (int b = 0; b < st.repeats; ++b) {
      const std::string name = fmt::format("blocks.{}.{}", s, b);
      const std::int64_t stride = b == 0 ? st.stride : 1;
      x = s == 0 ? depthwise_separable(x, name, st.channels, st.kernel, stride)
                 : inverted_residual(x, name, st.channels, st.kernel, stride, st.expand);
    }
  }
  x = conv_bn(x, "conv_head", "bn2", 1280, 1, 1, 1, true);
  x = GlobalAvgPool2D{.name = "global_pool"}(x);
  x = Dropout{.rate = 0.2, .name = "dropout"}(x);
  const float range = float(1.0 / std::sqrt(double(o.num_classes)));
  return Dense{.units = o.num_classes,
               .kernel_init = {.kind = InitKind::Uniform, .a = -range, .b = range},
               .bias_init = {.kind = InitKind::Zeros},
               .name = "classifier"}(x);
}

}  // namespace convkit::nn::zoo
