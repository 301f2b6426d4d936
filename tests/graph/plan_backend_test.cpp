// A plan and its backend: the arena comes from the backend (one allocation, on its device), the
// loss seed and gradient fan-in go through its fill/accumulate, forward/backward run inside its
// execution scope, the plans of a model share one backend instance, and memory the backend's
// kernels cannot touch is refused when the plan is compiled.
#include "backend/cpu/host_backend.h"
#include "graph/plan.h"
#include "nn/model_access.h"
#include "ops/registry.h"

#include <convkit/nn/model.h>

#include <gtest/gtest.h>

#include <string>

namespace convkit::graph {
namespace {

using nn::Activation;
using nn::Model;
using nn::ModelAccess;
using nn::Padding;

// The cpu backend's kernels and host memory, counting the memory operations; `device` tags its
// buffers (a pretend device: the memory stays host memory, and the cpu kernels are asked for
// host ones; ops without one fall back to the reference kernel, which refuses the device).
class CountingBackend final : public backend::cpu::HostBackend {
 public:
  explicit CountingBackend(Device device = Device::host()) : device_(device) {}
  std::string_view name() const override { return "counting"; }
  std::unique_ptr<backend::Kernel> make_kernel(const backend::KernelRequest& r) override {
    backend::KernelRequest host = r;
    host.device = Device::host();
    return cpu_->make_kernel(host);
  }
  backend::LayoutOffer layout_offer(const backend::KernelRequest& r) override {
    return cpu_->layout_offer(r);
  }
  Device device() const override { return device_; }
  Buffer allocate(std::size_t bytes) override {
    ++allocations;
    const Buffer host = HostBackend::allocate(bytes);
    last = Buffer(host.memory(), host.size(), device_);
    return last;
  }
  void fill(const Tensor& dst, float value) override {
    ++fills;
    HostBackend::fill(dst, value);
  }
  void accumulate(const Tensor& dst, const Tensor& src) override {
    ++accumulates;
    HostBackend::accumulate(dst, src);
  }
  int enter(int threads) override {
    ++scopes;
    return HostBackend::enter(threads);
  }

  int allocations = 0, fills = 0, accumulates = 0, scopes = 0;
  Buffer last;

 private:
  std::unique_ptr<backend::Backend> cpu_ = backend::make_backend("cpu");
  Device device_;
};

// Two paths from x to the loss (a skip connection), so x's consumers' gradients are summed.
Model fan_in_net() {
  nn::Value x = nn::Input({3, 4, 4});
  nn::Value a = nn::Conv2D{
      .filters = 4, .kernel = 3, .padding = Padding::Same, .activation = Activation::ReLU}(x);
  nn::Value b = nn::Conv2D{.filters = 4, .kernel = 3, .padding = Padding::Same}(a);
  nn::Value y = nn::Dense{.units = 2}(nn::Flatten{}(nn::Add{}({a, b})));
  return Model(x, y);
}

// The training graph compile_training builds: the model, labels and the loss as output 0.
std::shared_ptr<Graph> training_graph(const Model& model) {
  auto graph = std::make_shared<Graph>(ModelAccess::graph(model));
  const auto logits = graph->outputs()[0];
  const auto labels = graph->add_input("labels", Shape{}, DType::i32);
  auto loss = graph->add_node("loss", ops::make_op("SoftmaxCrossEntropy", {}), {logits, labels})[0];
  graph->set_outputs({loss, logits});
  return graph;
}

TEST(PlanBackendTest, ArenaSeedAndFanInGoThroughTheBackend) {
  Model model = fan_in_net();
  const auto graph = training_graph(model);
  auto counting = std::make_shared<CountingBackend>();
  Plan plan(*graph, ModelAccess::params(model),
            {.batch = 2, .mode = ops::Mode::Train, .context = counting});
  EXPECT_EQ(&plan.backend(), counting.get());
  EXPECT_EQ(plan.options().backend, "counting");
  EXPECT_EQ(counting->allocations, 1);  // one arena for activations, gradients, saved, scratch
  EXPECT_EQ(counting->last.size(), plan.arena_bytes());
  EXPECT_EQ(plan.input(0).device(), Device::host());
  EXPECT_GE(reinterpret_cast<std::byte*>(plan.input(0).raw()), counting->last.data());
  EXPECT_LT(reinterpret_cast<std::byte*>(plan.input(0).raw()),
            counting->last.data() + counting->last.size());
  EXPECT_EQ(counting->fills, 1);   // the loss seed
  EXPECT_EQ(counting->scopes, 1);  // kernels are built inside the backend's scope
  plan.input(0).fill(0.5f);
  plan.forward();
  plan.backward();
  EXPECT_EQ(counting->scopes, 3);
  EXPECT_GE(counting->accumulates, 1);  // a's gradient from the conv and the Add
  EXPECT_EQ(counting->allocations, 1);  // a step allocates no memory from the backend
  const int per_step = counting->accumulates;
  plan.forward();
  plan.backward();
  EXPECT_EQ(counting->accumulates, 2 * per_step);
}

TEST(PlanBackendTest, PlansShareOneBackendInstance) {
  Model model = fan_in_net();
  const auto graph = training_graph(model);
  Plan a(*graph, ModelAccess::params(model), {.batch = 2, .mode = ops::Mode::Train});
  Plan b(*graph, ModelAccess::params(model), {.batch = 3, .mode = ops::Mode::Infer});
  EXPECT_EQ(&a.backend(), &b.backend());
  EXPECT_EQ(&a.backend(), backend::shared_backend("cpu").get());
  Plan r(*graph, ModelAccess::params(model), {.batch = 2, .backend = "reference"});
  EXPECT_EQ(&r.backend(), backend::shared_backend("reference").get());
}

// nn::Model's compile paths hold the shared instance: each live plan adds one reference to it.
TEST(PlanBackendTest, ModelPlansShareTheRunsBackend) {
  Model model = fan_in_net();
  const auto shared = backend::shared_backend("reference");
  const long before = shared.use_count();
  {
    nn::Plan train = model.compile_training({.batch = 2, .backend = "reference"});
    nn::Plan infer = model.compile_inference({.batch = 5, .backend = "reference"});
    EXPECT_EQ(shared.use_count(), before + 2);
  }
  EXPECT_EQ(shared.use_count(), before);
}

// A backend on another device: the reference kernels (the loss here) refuse to be built for it,
// and a plan whose parameters stay in host memory is refused, naming the parameter.
TEST(PlanBackendTest, MemoryTheKernelsCannotTouchIsRefused) {
  Model model = fan_in_net();
  const auto graph = training_graph(model);
  auto gpu = std::make_shared<CountingBackend>(Device::cuda(0));
  try {
    Plan plan(*graph, ModelAccess::params(model),
              {.batch = 2, .mode = ops::Mode::Train, .context = gpu, .fuse = false});
    ADD_FAILURE() << "compiled";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("reference kernel of"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("cuda:0"), std::string::npos) << e.what();
  }
  Model dense = nn::sequential({6}, {nn::Dense{.units = 3}});
  try {
    Plan plan(ModelAccess::graph(dense), ModelAccess::params(dense), {.batch = 2, .context = gpu});
    ADD_FAILURE() << "compiled";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("parameter 'weight'"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("lives on host"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace convkit::graph
