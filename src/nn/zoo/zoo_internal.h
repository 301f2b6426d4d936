// The zoo's internals (src/nn/zoo/): the builder of each family, called by the table in zoo.cpp,
// and the few helpers they share. Shapes are per sample, [C, H, W].
#pragma once

#include <convkit/nn/layers.h>
#include <convkit/nn/zoo.h>

#include <cstdint>
#include <string>
#include <utility>

namespace convkit::nn::zoo {

// Each builder takes the input Value and options already checked by the table (name known, stem
// and classifier resolved to the network's default when empty) and returns the logits [classes].
Value resnet(const Value& x, const ZooOptions& o);        // resnet18, resnet34
Value cifar_resnet(const Value& x, const ZooOptions& o);  // resnet20, resnet32, resnet44, resnet56
Value vgg(const Value& x, const ZooOptions& o);           // vgg11_bn, vgg16_bn
Value mobilenet_v2(const Value& x, const ZooOptions& o);
Value efficientnet_lite(const Value& x, const ZooOptions& o);  // efficientnet_lite0

// The network as Values, {input, logits}, checked and built without a Model (so without the
// parameter memory and its initialization): build_zoo_model wraps it, and tests count the big
// networks' parameters from its graph (VGG's 138 M take seconds to initialize).
std::pair<Value, Value> build_values(const ZooOptions& options);

// PyTorch's kaiming_normal_(mode="fan_out", nonlinearity="relu") for a conv weight
// [F, C/groups, kh, kw]: N(0, 2 / (F kh kw)) (PyTorch's fan_out ignores groups).
Init kaiming_fan_out(std::int64_t filters, std::int64_t kernel);

// A k x k convolution with PyTorch's padding k / 2 on every side (not TensorFlow's "same", which
// pads a stride-2 layer's bottom-right only), no bias unless `bias`: then zeros.
struct ConvSpec {
  std::int64_t filters = 0;
  std::int64_t kernel = 3;
  std::int64_t stride = 1;
  std::int64_t groups = 1;
  bool bias = false;
  Init init{};
};
Value conv(const Value& x, const std::string& name, const ConvSpec& spec);

}  // namespace convkit::nn::zoo
