// Model::summary(): the layer table (name, type, output shape, parameters, FLOPs).
#include <convkit/nn/model.h>

#include "nn/model_state.h"

#include <fmt/format.h>

#include <algorithm>

namespace convkit::nn {

namespace {
// 1234567 -> "1,234,567"
std::string grouped(std::int64_t n) {
  std::string digits = std::to_string(n), out;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

std::string si(double x) {
  const char* units[] = {"", "K", "M", "G", "T"};
  int u = 0;
  while (x >= 1000 && u < 4) x /= 1000, ++u;
  return u == 0 ? fmt::format("{:.0f}", x) : fmt::format("{:.2f}{}", x, units[u]);
}

std::string batch_shape(const Shape& s) {
  std::string out = "[N";
  for (int i = 1; i < s.rank(); ++i) out += fmt::format(", {}", s[i]);
  return out + "]";
}
}  // namespace

double Model::flops_per_sample() const {
  const auto& g = *state_->graph;
  double total = 0;
  for (const auto& n : g.nodes()) {
    std::vector<ops::TensorSpec> in;
    for (auto v : n.inputs) in.push_back(g.value(v).spec);
    total += n.op->flops(in);
  }
  return total;
}

std::string Model::summary() const {
  const auto& g = *state_->graph;
  auto label_of = [](const graph::Node& n) {
    return fmt::format("{} ({}){}", n.name, n.op->type(), n.trainable ? "" : " [frozen]");
  };
  // The first column fits the longest label ("layer2.0.downsample.1 (BatchNorm)") and a space.
  std::size_t width = 32;
  for (const auto& n : g.nodes()) width = std::max(width, label_of(n).size() + 1);
  std::string out = fmt::format("{:<{}}{:<22}{:>12}{:>12}\n", "Layer (type)", width, "Output shape",
                                "Params", "FLOPs");
  const std::string rule = std::string(width + 46, '=') + "\n";
  out += rule;
  std::int64_t buffers = 0, frozen = 0;
  for (const auto& n : g.nodes()) {
    std::vector<ops::TensorSpec> in;
    for (auto v : n.inputs) in.push_back(g.value(v).spec);
    std::int64_t params = 0;
    for (auto p : n.params) {
      const auto& spec = g.params()[p].spec;
      if (spec.trainable)
        params += spec.shape.numel();
      else
        buffers += spec.shape.numel();
      if (spec.trainable && !n.trainable) frozen += spec.shape.numel();
    }
    out += fmt::format("{:<{}}{:<22}{:>12}{:>12}\n", label_of(n), width,
                       batch_shape(g.value(n.outputs[0]).spec.shape), grouped(params),
                       si(n.op->flops(in)));
  }
  out += rule;
  out += fmt::format("Total params: {} (trainable {}, frozen {}); non-trainable buffers: {}\n",
                     grouped(parameter_count()), grouped(parameter_count() - frozen),
                     grouped(frozen), grouped(buffers));
  out += fmt::format("Forward FLOPs per sample: {}\n", si(flops_per_sample()));
  return out;
}

}  // namespace convkit::nn
