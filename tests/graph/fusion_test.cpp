// The fusion pass follows the activation table: ReLU6 (exact from y, a clip_v2 post-op) folds
// into Conv2D, Dense and MaxPool2D like ReLU; HardSwish and HardSigmoid stay separate nodes; a
// fused plan computes the loss of the unfused one.
#include "graph/fusion.h"
#include "nn/model_access.h"

#include <convkit/nn/model.h>
#include <convkit/util/rng.h>

#include <gtest/gtest.h>

namespace convkit::nn {
namespace {

double loss_of(Model& model, const TrainingOptions& options) {
  Plan plan = model.compile_training(options);
  Tensor in = plan.input();
  fill_normal(in.data<float>(), in.numel(), derive_key(3, "x"), 0.0f, 2.0f);
  Tensor labels = plan.labels();
  for (std::int64_t i = 0; i < labels.numel(); ++i)
    labels.data<std::int32_t>()[i] = std::int32_t(i % 3);
  plan.forward();
  plan.backward();
  return plan.loss();
}

TEST(FusionTest, ReLU6FusesAndTheHardActivationsStaySeparate) {
  Value x = Input({2, 8, 8});
  Value a = Conv2D{
      .filters = 4, .kernel = 3, .padding = Padding::Same, .activation = Activation::ReLU6}(x);
  Value b = Conv2D{.filters = 4, .kernel = 3, .padding = Padding::Same}(a);
  Value p = MaxPool2D{.pool = 2}(ReLU6{}(b));
  Value c = Conv2D{.filters = 4, .kernel = 1, .activation = Activation::HardSwish}(p);
  Value d = Dense{.units = 6, .activation = Activation::HardSigmoid}(Flatten{}(c));
  Model model(x, Dense{.units = 3, .activation = Activation::ReLU6}(d));
  const graph::FusedGraph fused = graph::fuse_activations(nn::ModelAccess::graph(model));
  std::vector<std::string> nodes;
  for (const graph::Node& n : fused.nodes)
    nodes.push_back(std::string(n.op->type()) + ":" + n.op->attrs().get_string("activation", "-"));
  EXPECT_EQ(nodes, (std::vector<std::string>{"Conv2D:relu6", "Conv2D:none", "MaxPool2D:relu6",
                                             "Conv2D:none", "HardSwish:-", "Dense:none",
                                             "HardSigmoid:-", "Dense:relu6"}));
  model.initialize(2);
  const double fused_loss = loss_of(model, {.batch = 3, .fuse = true});
  EXPECT_NEAR(fused_loss, loss_of(model, {.batch = 3, .fuse = false}), 1e-5);
  EXPECT_NEAR(fused_loss, loss_of(model, {.batch = 3, .backend = "reference"}), 1e-5);
}

}  // namespace
}  // namespace convkit::nn
