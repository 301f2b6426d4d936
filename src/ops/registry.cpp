// The op table: type name -> factory. One line per op; keep it sorted by file.
#include "ops/registry.h"

#include "ops/activation.h"
#include "ops/add.h"
#include "ops/batch_norm.h"
#include "ops/concat.h"
#include "ops/conv2d.h"
#include "ops/dense.h"
#include "ops/dropout.h"
#include "ops/global_avg_pool.h"
#include "ops/multiply.h"
#include "ops/pad.h"
#include "ops/pool2d.h"
#include "ops/reshape.h"
#include "ops/resize.h"
#include "ops/softmax.h"
#include "ops/softmax_cross_entropy.h"

#include <array>

namespace convkit::ops {

namespace {
const OpEntry kOps[] = {
    {"ReLU", make_relu},
    {"LeakyReLU", make_leaky_relu},
    {"ELU", make_elu},
    {"GELU", make_gelu},
    {"SiLU", make_silu},
    {"Sigmoid", make_sigmoid},
    {"Tanh", make_tanh},
    {"ReLU6", make_relu6},
    {"Clip", make_clip},
    {"HardSwish", make_hard_swish},
    {"HardSigmoid", make_hard_sigmoid},
    {"Add", make_add},
    {"BatchNorm", make_batch_norm},
    {"Concat", make_concat},
    {"Conv2D", make_conv2d},
    {"Dense", make_dense},
    {"Dropout", make_dropout},
    {"GlobalAvgPool", make_global_avg_pool},
    {"Multiply", make_multiply},
    {"Pad", make_pad},
    {"Resize", make_resize},
    {"MaxPool2D", make_max_pool2d},
    {"AvgPool2D", make_avg_pool2d},
    {"Flatten", make_flatten},
    {"Reshape", make_reshape},
    {"Softmax", make_softmax},
    {"SoftmaxCrossEntropy", make_softmax_cross_entropy},
    {"", nullptr},  // sentinel, skipped
};
}  // namespace

std::span<const OpEntry> registered_ops() {
  return std::span<const OpEntry>(kOps, std::size(kOps) - 1);
}

std::shared_ptr<const Op> make_op(std::string_view type, const Attrs& attrs) {
  for (const auto& entry : registered_ops())
    if (entry.type == type) {
      try {
        return entry.make(attrs);
      } catch (const Error& e) {
        fail("op {}: {}", type, e.what());
      }
    }
  fail("unknown op type '{}'", type);
}

}  // namespace convkit::ops
