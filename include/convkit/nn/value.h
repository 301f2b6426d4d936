// Value: a symbolic tensor of the functional model builder. Calling a layer on a Value adds a
// node to the Value's graph and returns the node's output:
//   auto x = nn::Input({1, 28, 28});
//   auto y = nn::Conv2D{.filters = 32, .kernel = 3, .activation = nn::Activation::ReLU}(x);
//   auto z = nn::Add{}({y, nn::Conv2D{.filters = 32, .padding = nn::Padding::Same}(y)});
#pragma once

#include <convkit/tensor/shape.h>

#include <memory>
#include <string>

namespace convkit::graph {
class Graph;
}

namespace convkit::nn {

class Value {
 public:
  Value() = default;
  // Per-sample shape (without the batch dim), e.g. [32, 26, 26].
  Shape shape() const;
  bool defined() const { return graph_ != nullptr; }

  // Internal: the graph being built and this value's id in it.
  Value(std::shared_ptr<graph::Graph> graph, int id) : graph_(std::move(graph)), id_(id) {}
  const std::shared_ptr<graph::Graph>& graph() const { return graph_; }
  int id() const { return id_; }

 private:
  std::shared_ptr<graph::Graph> graph_;
  int id_ = -1;
};

// A model input of per-sample shape `shape` (e.g. {1, 28, 28} for MNIST images, C x H x W).
Value Input(const Shape& shape, std::string name = "input");

}  // namespace convkit::nn
