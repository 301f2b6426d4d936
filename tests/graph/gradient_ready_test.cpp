// The gradient-ready hook of backward: layers reported in reverse topological order, every
// trainable parameter exactly once per backward, frozen layers and buffers never, and the
// gradients at hook time already equal to the final ones (what overlapping all-reduce needs).
#include "nn/model_access.h"

#include <convkit/nn/model.h>
#include <convkit/util/rng.h>

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace convkit::nn {
namespace {

// Conv (+ fused ReLU), a frozen conv, BN (parameters and running-statistics buffers), a skip
// connection (gradient fan-in: accumulation), pooling and a dense head.
Model branching_net() {
  Value x = Input({2, 6, 6});
  Value a = Conv2D{.filters = 4,
                   .kernel = 3,
                   .padding = Padding::Same,
                   .activation = Activation::ReLU,
                   .name = "stem"}(x);
  Value b = Conv2D{.filters = 4, .kernel = 3, .padding = Padding::Same, .name = "frozen"}(a);
  b = BatchNorm{.name = "bn"}(b);
  Value s = ReLU{}(Add{}({a, b}));
  Value g = GlobalAvgPool2D{}(MaxPool2D{.pool = 2}(s));
  Value y = Dense{.units = 3, .name = "head"}(g);
  Model model(x, y);
  model.set_trainable("frozen", false);
  model.initialize(7);
  return model;
}

void fill_batch(Plan& plan, std::uint64_t seed) {
  Tensor in = plan.input();
  fill_normal(in.data<float>(), in.numel(), derive_key(seed, "x"), 0.0f, 1.0f);
  Tensor labels = plan.labels();
  for (std::int64_t i = 0; i < labels.numel(); ++i)
    labels.data<std::int32_t>()[i] = std::int32_t(i % 3);
}

struct Event {
  std::string layer;
  std::vector<int> slots;
  std::int64_t offset = 0, numel = 0;
  std::vector<float> grads;  // copied at hook time
};

TEST(GradientReadyTest, ReportsEachTrainableParameterOnceInReverseOrderWithFinalGradients) {
  Model model = branching_net();
  Plan plan = model.compile_training({.batch = 4});
  const ParamBlock block = plan.parameter_block();
  std::vector<Event> events;
  plan.set_gradient_ready_hook([&](const GradientReady& e) {
    EXPECT_EQ(e.grads.data(), block.grads + e.offset);
    EXPECT_EQ(std::int64_t(e.grads.size()), e.numel);
    events.push_back({std::string(e.layer),
                      {e.slots.begin(), e.slots.end()},
                      e.offset,
                      e.numel,
                      {e.grads.begin(), e.grads.end()}});
  });
  const graph::Graph& graph = ModelAccess::graph(model);
  for (int step = 0; step < 2; ++step) {
    events.clear();
    fill_batch(plan, 10 + step);
    plan.forward();
    plan.backward();
    // Reverse topological order: graph nodes are built in topological order.
    std::vector<std::string> layers;
    for (const Event& e : events) layers.push_back(e.layer);
    EXPECT_EQ(layers, (std::vector<std::string>{"head", "bn", "stem"})) << "step " << step;
    for (std::size_t k = 1; k < events.size(); ++k)
      EXPECT_GT(graph.find_node(events[k - 1].layer), graph.find_node(events[k].layer));
    // Each trainable slot exactly once; frozen parameters and buffers never.
    std::vector<int> seen(block.slots.size(), 0);
    for (const Event& e : events)
      for (int s : e.slots) {
        ++seen.at(std::size_t(s));
        const ParamSlot& slot = block.slots[std::size_t(s)];
        EXPECT_TRUE(slot.name.starts_with(e.layer + "."))
            << slot.name << " reported by " << e.layer;
        EXPECT_GE(slot.offset, e.offset) << slot.name;
        EXPECT_LE(slot.offset + slot.numel, e.offset + e.numel) << slot.name;
      }
    for (std::size_t s = 0; s < block.slots.size(); ++s)
      EXPECT_EQ(seen[s], block.slots[s].trainable ? 1 : 0) << block.slots[s].name;
    // The gradients seen by the hook are the final ones.
    for (const Event& e : events)
      for (int s : e.slots) {
        const ParamSlot& slot = block.slots[std::size_t(s)];
        for (std::int64_t i = 0; i < slot.numel; ++i)
          ASSERT_EQ(e.grads[std::size_t(slot.offset - e.offset + i)], block.grads[slot.offset + i])
              << slot.name << "[" << i << "], step " << step;
      }
  }
  // The frozen conv and BN's running statistics are in the block but never reported.
  int frozen = 0, buffers = 0;
  for (const ParamSlot& slot : block.slots) {
    frozen += slot.name.starts_with("frozen.");
    buffers += slot.name.starts_with("bn.running");
  }
  EXPECT_EQ(frozen, 2);
  EXPECT_EQ(buffers, 2);
}

TEST(GradientReadyTest, UnfusedAndReferencePlansReportTheSameLayers) {
  Model model = branching_net();
  for (const TrainingOptions& options : {TrainingOptions{.batch = 2, .fuse = false},
                                         TrainingOptions{.batch = 2, .backend = "reference"}}) {
    Plan plan = model.compile_training(options);
    std::vector<std::string> layers;
    plan.set_gradient_ready_hook([&](const GradientReady& e) { layers.emplace_back(e.layer); });
    fill_batch(plan, 3);
    plan.forward();
    plan.backward();
    EXPECT_EQ(layers, (std::vector<std::string>{"head", "bn", "stem"})) << options.backend;
  }
}

TEST(GradientReadyTest, RemovedHookIsNotCalledAndInferencePlansRefuseOne) {
  Model model = branching_net();
  Plan plan = model.compile_training({.batch = 2});
  int calls = 0;
  plan.set_gradient_ready_hook([&](const GradientReady&) { ++calls; });
  fill_batch(plan, 1);
  plan.forward();
  plan.backward();
  EXPECT_EQ(calls, 3);
  plan.set_gradient_ready_hook({});
  plan.forward();
  plan.backward();
  EXPECT_EQ(calls, 3);
  Plan infer = model.compile_inference({.batch = 2});
  EXPECT_THROW(infer.set_gradient_ready_hook([](const GradientReady&) {}), Error);
}

}  // namespace
}  // namespace convkit::nn
