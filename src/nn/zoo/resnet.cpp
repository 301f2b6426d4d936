// ResNets of BasicBlocks (two 3x3 convolutions and a shortcut):
//   resnet18/34: torchvision's layout: a stem, four stages of 64/128/256/512 filters with
//     [2, 2, 2, 2] / [3, 4, 6, 3] blocks, the stride 2 on the first 3x3 conv of stages 2-4 and a
//     downsample shortcut (1x1 conv with that stride + BN) where the shape changes; global average
//     pool, fc. Stem imagenet: 7x7/2 conv, BN, ReLU, 3x3/2 max pool (pad 1); cifar: 3x3/1 conv,
//     BN, ReLU, no pool (the usual CIFAR adaptation: 32x32 in, 4x4 at the last stage).
//   resnet20/32/44/56: He et al. 2016 (sec. 4.2), 6n + 2 layers for n = 3, 5, 7, 9: a 3x3 conv of
//     16 filters, three stages of n blocks of 16/32/64 filters (32x32 -> 16x16 -> 8x8), global
//     average pool, fc. NOTE: where the shape changes the shortcut is a 1x1 conv (stride 2) + BN,
//     the paper's option B, not its option A (zero-padded identity): convkit has no strided slice,
//     and B costs 2,752 more parameters than A (resnet20: 272,474 instead of 269,722).
// Initialization as torchvision's ResNet: convs N(0, 2 / fan_out), BN gamma 1 and beta 0 (gamma 0
// on each block's bn2 with zero_init_residual), fc PyTorch's Linear default.
#include "nn/zoo/zoo_internal.h"

#include <fmt/format.h>

#include <array>
#include <span>
#include <string>

namespace convkit::nn::zoo {

namespace {

Value conv_bn(const Value& x, const std::string& conv_name, const std::string& bn_name,
              std::int64_t filters, std::int64_t kernel, std::int64_t stride, bool relu,
              bool zero_gamma = false) {
  Value y = conv(x, conv_name,
                 {.filters = filters,
                  .kernel = kernel,
                  .stride = stride,
                  .init = kaiming_fan_out(filters, kernel)});
  return BatchNorm{.activation = relu ? Activation::ReLU : Activation::None,
                   .gamma_init = zero_gamma ? Init{.kind = InitKind::Zeros} : Init{},
                   .name = bn_name}(y);
}

// relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x)), named like torchvision's layer1.0.*.
Value basic_block(const Value& x, const std::string& name, std::int64_t planes, std::int64_t stride,
                  bool zero_init_residual) {
  Value y = conv_bn(x, name + ".conv1", name + ".bn1", planes, 3, stride, true);
  y = conv_bn(y, name + ".conv2", name + ".bn2", planes, 3, 1, false, zero_init_residual);
  Value shortcut = x;
  if (stride != 1 || x.shape()[0] != planes)
    shortcut = conv_bn(x, name + ".downsample.0", name + ".downsample.1", planes, 1, stride, false);
  return ReLU{.name = name + ".relu"}(Add{.name = name + ".add"}({y, shortcut}));
}

// Stages of `blocks[i]` blocks with `planes[i]` filters, stride 2 at the start of all but the
// first.
Value stages(Value x, std::span<const std::int64_t> planes, std::span<const int> blocks,
             bool zero_init_residual) {
  for (std::size_t s = 0; s < planes.size(); ++s)
    for (int b = 0; b < blocks[s]; ++b)
      x = basic_block(x, fmt::format("layer{}.{}", s + 1, b), planes[s], s > 0 && b == 0 ? 2 : 1,
                      zero_init_residual);
  return x;
}

Value head(const Value& x, std::int64_t classes) {
  Value y = GlobalAvgPool2D{.name = "avgpool"}(x);
  return Dense{.units = classes, .name = "fc"}(y);
}

}  // namespace

Value resnet(const Value& input, const ZooOptions& o) {
  static constexpr std::array<std::int64_t, 4> kPlanes{64, 128, 256, 512};
  static constexpr std::array<int, 4> kResnet18{2, 2, 2, 2}, kResnet34{3, 4, 6, 3};
  Value x;
  if (o.stem == "imagenet") {
    x = conv_bn(input, "conv1", "bn1", 64, 7, 2, true);
    x = MaxPool2D{.pool = 3,
                  .stride = 2,
                  .padding = Padding::Explicit,
                  .pads = {1, 1, 1, 1},
                  .name = "maxpool"}(x);
  } else {  // cifar
    x = conv_bn(input, "conv1", "bn1", 64, 3, 1, true);
  }
  x = stages(x, kPlanes, o.name == "resnet18" ? kResnet18 : kResnet34, o.zero_init_residual);
  return head(x, o.num_classes);
}

Value cifar_resnet(const Value& input, const ZooOptions& o) {
  static constexpr std::array<std::int64_t, 3> kPlanes{16, 32, 64};
  const int depth = std::stoi(o.name.substr(6));  // "resnet20" -> 20 = 6n + 2
  const int n = (depth - 2) / 6;
  const std::array<int, 3> blocks{n, n, n};
  Value x = conv_bn(input, "conv1", "bn1", 16, 3, 1, true);
  x = stages(x, kPlanes, blocks, o.zero_init_residual);
  return head(x, o.num_classes);
}

}  // namespace convkit::nn::zoo
