// Plan::set_threads: a compiled training plan moved to another team size between steps computes
// what it computed before (same loss and gradients, up to the order of reductions), keeps its
// memory and bindings, and builds each team size's kernels once.
#include "backend/cpu/host_backend.h"
#include "graph/plan.h"
#include "nn/model_access.h"
#include "ops/registry.h"

#include <convkit/nn/model.h>

#include <gtest/gtest.h>
#include <omp.h>

#include <cmath>
#include <vector>

namespace convkit::graph {
namespace {

using nn::Activation;
using nn::Model;
using nn::ModelAccess;
using nn::Padding;

// The cpu backend, counting the kernels it is asked for.
class KernelCountingBackend final : public backend::cpu::HostBackend {
 public:
  std::string_view name() const override { return "kernel-counting"; }
  std::unique_ptr<backend::Kernel> make_kernel(const backend::KernelRequest& r) override {
    ++kernels;
    return cpu_->make_kernel(r);
  }
  backend::LayoutOffer layout_offer(const backend::KernelRequest& r) override {
    return cpu_->layout_offer(r);
  }
  int kernels = 0;

 private:
  std::unique_ptr<backend::Backend> cpu_ = backend::make_backend("cpu");
};

// Conv (blocked layouts), batch norm, max pooling, dense: the kernels whose oneDNN primitives
// split their work by the team size they are created for.
Model small_cnn() {
  nn::Value x = nn::Input({3, 12, 12});
  nn::Value h = nn::Conv2D{.filters = 16, .kernel = 3, .padding = Padding::Same}(x);
  h = nn::BatchNorm{}(h);
  h = nn::ReLU{}(h);
  h = nn::MaxPool2D{.pool = 2}(h);
  h = nn::Conv2D{
      .filters = 16, .kernel = 3, .padding = Padding::Same, .activation = Activation::ReLU}(h);
  nn::Value y = nn::Dense{.units = 5}(nn::Flatten{}(h));
  Model model(x, y);
  model.initialize(7);
  return model;
}

std::shared_ptr<Graph> training_graph(const Model& model) {
  auto graph = std::make_shared<Graph>(ModelAccess::graph(model));
  const auto logits = graph->outputs()[0];
  const auto labels = graph->add_input("labels", Shape{}, DType::i32);
  auto loss = graph->add_node("loss", ops::make_op("SoftmaxCrossEntropy", {}), {logits, labels})[0];
  graph->set_outputs({loss, logits});
  return graph;
}

struct StepResult {
  float loss;
  std::vector<float> grads;
};

StepResult step(Plan& plan, ParamStore& store) {
  Tensor x = plan.input(0);
  float* px = x.data<float>();
  for (std::int64_t i = 0; i < x.numel(); ++i) px[i] = float(std::sin(0.37 * double(i)));
  Tensor labels = plan.input(1);
  for (std::int64_t i = 0; i < labels.numel(); ++i) labels.data<std::int32_t>()[i] = int(i % 5);
  std::fill(store.grad_data(), store.grad_data() + store.numel(), 0.0f);
  plan.forward();
  plan.backward();
  return {plan.output(0).data<float>()[0],
          std::vector<float>(store.grad_data(), store.grad_data() + store.numel())};
}

void expect_close(const StepResult& a, const StepResult& b) {
  EXPECT_NEAR(a.loss, b.loss, 1e-5f * std::max(1.0f, std::abs(a.loss)));
  ASSERT_EQ(a.grads.size(), b.grads.size());
  for (std::size_t i = 0; i < a.grads.size(); ++i)
    ASSERT_NEAR(a.grads[i], b.grads[i], 1e-4f * std::max(1.0f, std::abs(a.grads[i])))
        << "gradient " << i;
}

TEST(PlanThreadsTest, AnotherTeamSizeComputesTheSameStep) {
  Model model = small_cnn();
  const auto graph = training_graph(model);
  ParamStore& store = ModelAccess::params(model);
  Plan plan(*graph, store, {.batch = 8, .mode = ops::Mode::Train, .threads = 2});
  EXPECT_EQ(plan.threads(), 2);
  const std::size_t arena = plan.arena_bytes();
  const StepResult two = step(plan, store);

  ASSERT_TRUE(plan.set_threads(1));
  EXPECT_EQ(plan.threads(), 1);
  EXPECT_EQ(plan.arena_bytes(), arena);  // memory and bindings stay
  expect_close(step(plan, store), two);

  // More than it was compiled for: oneDNN may want more scratch than the arena planned, and
  // then the plan refuses and stays as it was.
  if (!plan.set_threads(3)) EXPECT_EQ(plan.threads(), 1);
  expect_close(step(plan, store), two);
  ASSERT_TRUE(plan.set_threads(2));
  expect_close(step(plan, store), two);
}

TEST(PlanThreadsTest, EachTeamSizesKernelsAreBuiltOnce) {
  Model model = small_cnn();
  const auto graph = training_graph(model);
  ParamStore& store = ModelAccess::params(model);
  auto counting = std::make_shared<KernelCountingBackend>();
  Plan plan(*graph, store,
            {.batch = 4, .mode = ops::Mode::Train, .context = counting, .threads = 2});
  const int per_build = counting->kernels;
  ASSERT_GT(per_build, 0);
  ASSERT_TRUE(plan.set_threads(2));  // the current team size: nothing to build
  EXPECT_EQ(counting->kernels, per_build);
  ASSERT_TRUE(plan.set_threads(1));
  EXPECT_EQ(counting->kernels, 2 * per_build);
  ASSERT_TRUE(plan.set_threads(2));
  ASSERT_TRUE(plan.set_threads(1));
  EXPECT_EQ(counting->kernels, 2 * per_build);  // both sets kept
  step(plan, store);
}

TEST(PlanThreadsTest, StepCounterAndTeamSizeOfTheCallerStay) {
  Model model = small_cnn();
  const auto graph = training_graph(model);
  ParamStore& store = ModelAccess::params(model);
  Plan plan(*graph, store, {.batch = 4, .mode = ops::Mode::Train});
  EXPECT_EQ(plan.threads(), 0);  // the caller's setting
  step(plan, store);
  const int caller = omp_get_max_threads();
  ASSERT_TRUE(plan.set_threads(1));
  step(plan, store);
  EXPECT_EQ(plan.step(), 2u);
  EXPECT_EQ(omp_get_max_threads(), caller);  // the plan's team size applies inside its calls
  EXPECT_THROW(plan.set_threads(0), std::exception);
}

}  // namespace
}  // namespace convkit::graph
