// The model zoo: well-known classification networks built by name, with torchvision's (timm's for
// EfficientNet-Lite) layer layout, layer names and initialization, randomly initialized.
//
//   nn::Model m = nn::build_zoo_model({.name = "resnet18", .num_classes = 10,
//                                      .input = {3, 32, 32}, .stem = "cifar"});
//   m.initialize(42);
//
// | name                               | what                                                     |
// | ---------------------------------- | -------------------------------------------------------- |
// | resnet18, resnet34                 | BasicBlock ResNets; stem imagenet (7x7/2 conv, BN, ReLU, |
// |                                    | 3x3/2 max pool) or cifar (3x3/1 conv, BN, ReLU, no pool) |
// | resnet20, resnet32, resnet44,      | He et al. 2016's CIFAR ResNets (6n+2 layers, 16/32/64    |
// | resnet56                           | filters), 1x1-conv + BN projection shortcuts (option B)  |
// | vgg11_bn, vgg16_bn                 | VGG with batch norm; classifier imagenet or global_pool  |
// | mobilenet_v2                       | width 1.0, inverted residuals, ReLU6, dropout 0.2        |
// | efficientnet_lite0                 | no squeeze-excitation, ReLU6, dropout 0.2                |
//
// Layer names follow the reference modules ("layer1.0.conv1", "features.3.conv.1.0", "blocks.2.1
// .conv_dw"), so `param_groups` globs such as "layer4.*" or "fc" work as they would in PyTorch.
// Inputs are [C, H, W]; every network ends in global average pooling except vgg's imagenet
// classifier, so any input size works that leaves a feature map of at least 1x1.
#pragma once

#include <convkit/nn/model.h>
#include <convkit/util/error.h>

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace convkit::nn {

struct ZooOptions {
  std::string name;                                // one of zoo_names()
  std::int64_t num_classes = 1000;                 // units of the last Dense layer
  std::array<std::int64_t, 3> input{3, 224, 224};  // C, H, W of one image
  // resnet18/34: "imagenet" (the default) or "cifar". The CIFAR ResNets only have "cifar",
  // mobilenet_v2 and efficientnet_lite0 only "imagenet" (their own 3x3/2 stem); vgg has none.
  // "" = the network's default.
  std::string stem;
  // vgg11_bn/vgg16_bn only: "imagenet" (the default; torchvision's 512*7*7 -> 4096 -> 4096 ->
  // classes with dropout 0.5; it needs a 7x7 feature map, i.e. H and W from 224 to 255, or one
  // that is a multiple of 7, which an average pool brings to 7x7 as torchvision's adaptive pool
  // would) or "global_pool" (global average pool, then one Dense: the CIFAR VGG head).
  std::string classifier;
  // ResNets only: each residual block's last BatchNorm starts with gamma = 0, so every block
  // starts as the identity (torchvision's zero_init_residual; Goyal et al. 2017).
  bool zero_init_residual = false;
};

// A bad option: what() names the network, the option (ZooOptions' field) and the valid values.
class ZooOptionError : public Error {
 public:
  ZooOptionError(std::string option, const std::string& message)
      : Error(message), option_(std::move(option)) {}
  const std::string& option() const { return option_; }  // "name", "stem", "classifier", ...

 private:
  std::string option_;
};

// Builds the network (parameters allocated, not initialized: call Model::initialize). Throws
// ZooOptionError for an unknown name or an option the network does not take.
Model build_zoo_model(const ZooOptions& options);
// Checks the options without building anything (what build_zoo_model would throw, except for
// shape errors of inputs too small for the network).
void check_zoo_options(const ZooOptions& options);
// Every name build_zoo_model knows, in table order.
std::vector<std::string> zoo_names();

}  // namespace convkit::nn
