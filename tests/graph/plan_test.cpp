// Plan: whole-network gradients against finite differences, backends and fusion agreeing,
// skip connections (gradient fan-in), frozen layers, memory planning, allocation-free steps.
#include "graph/plan.h"
#include "graph/fusion.h"
#include "nn/model_access.h"

#include <convkit/nn/model.h>
#include <convkit/train/step.h>
#include <convkit/util/rng.h>

#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <cstdlib>
#include <new>

#include <omp.h>

// Counts heap allocations while `g_count_allocations` is set (checks "a step allocates nothing").
static std::atomic<bool> g_count_allocations{false};
static std::atomic<long> g_allocations{0};
void* operator new(std::size_t n) {
  if (g_count_allocations) ++g_allocations;
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept {
  std::free(p);
}
void operator delete(void* p, std::size_t) noexcept {
  std::free(p);
}
// The array forms too: otherwise a sanitizer's operator new[] would pair with the free() above.
void* operator new[](std::size_t bytes) {
  return ::operator new(bytes);
}
void operator delete[](void* p) noexcept {
  ::operator delete(p);
}
void operator delete[](void* p, std::size_t) noexcept {
  ::operator delete(p);
}
// And the nothrow forms (std::stable_sort's temporary buffer uses them).
void* operator new(std::size_t bytes, const std::nothrow_t&) noexcept {
  try {
    return ::operator new(bytes);
  } catch (...) {
    return nullptr;
  }
}
void* operator new[](std::size_t bytes, const std::nothrow_t&) noexcept {
  return ::operator new(bytes, std::nothrow);
}
void operator delete(void* p, const std::nothrow_t&) noexcept {
  ::operator delete(p);
}
void operator delete[](void* p, const std::nothrow_t&) noexcept {
  ::operator delete(p);
}

namespace convkit::nn {
namespace {

// A small residual CNN touching every kind of node: conv (+fused relu), BN, pooling, a skip
// connection (gradient fan-in), concat, global pooling, dense.
Model residual_net() {
  Value x = Input({2, 7, 6});
  Value a = Conv2D{
      .filters = 4, .kernel = 3, .padding = Padding::Same, .activation = Activation::ReLU}(x);
  Value b = Conv2D{.filters = 4, .kernel = 3, .padding = Padding::Same}(a);
  b = BatchNorm{}(b);
  Value s = ReLU{}(Add{}({a, b}));
  Value c = Concat{}({s, a});
  Value p = MaxPool2D{.pool = 2}(c);
  Value g = GlobalAvgPool2D{}(Tanh{}(p));
  Value y = Dense{.units = 3}(g);
  return Model(x, y);
}

void fill_batch(Plan& plan, std::uint64_t seed) {
  Tensor in = plan.input();
  fill_normal(in.data<float>(), in.numel(), derive_key(seed, "x"), 0.0f, 1.0f);
  Tensor labels = plan.labels();
  for (std::int64_t i = 0; i < labels.numel(); ++i)
    labels.data<std::int32_t>()[i] = std::int32_t(i % 3);
}

std::vector<float> flat_grads(const Model& m) {
  auto block = m.parameter_block();
  return std::vector<float>(block.grads, block.grads + block.numel);
}

// One training step on fill_batch(seed): the loss and the parameter gradients.
std::pair<double, std::vector<float>> train_step(Model& model, const TrainingOptions& options,
                                                 std::uint64_t seed) {
  Plan plan = model.compile_training(options);
  fill_batch(plan, seed);
  plan.forward();
  plan.backward();
  return {plan.loss(), flat_grads(model)};
}

TEST(PlanTest, WholeNetworkGradientsMatchFiniteDifferences) {
  Model model = residual_net();
  model.initialize(5);
  Plan plan = model.compile_training({.batch = 3, .backend = "reference"});
  fill_batch(plan, 1);
  plan.forward();
  plan.backward();
  auto grads = flat_grads(model);
  auto block = model.parameter_block();
  int checked = 0;
  for (const auto& slot : block.slots) {
    if (!slot.trainable) continue;
    for (std::int64_t j = 0; j < slot.numel; j += std::max<std::int64_t>(1, slot.numel / 6)) {
      float* w = block.params + slot.offset + j;
      const float saved = *w, eps = 1e-3f;
      *w = saved + eps;
      plan.forward();
      double up = plan.loss();
      *w = saved - eps;
      plan.forward();
      double down = plan.loss();
      *w = saved;
      double numeric = (up - down) / (2 * eps);
      EXPECT_NEAR(grads[slot.offset + j], numeric, 2e-3 + 2e-2 * std::fabs(numeric))
          << slot.name << "[" << j << "]";
      ++checked;
    }
  }
  EXPECT_GT(checked, 30);
}

TEST(PlanTest, CpuBackendAndFusionAgreeWithReference) {
  Model model = residual_net();
  model.initialize(9);
  auto run = [&](const std::string& backend, bool fuse) {
    Plan plan = model.compile_training({.batch = 4, .backend = backend, .fuse = fuse});
    fill_batch(plan, 2);
    plan.forward();
    plan.backward();
    return std::make_pair(plan.loss(), flat_grads(model));
  };
  auto [ref_loss, ref_grads] = run("reference", false);
  for (auto [backend, fuse] : {std::pair{"reference", true}, {"cpu", false}, {"cpu", true}}) {
    auto [loss, grads] = run(backend, fuse);
    EXPECT_NEAR(loss, ref_loss, 1e-4) << backend << " fuse=" << fuse;
    float worst = 0;
    for (std::size_t i = 0; i < grads.size(); ++i)
      worst = std::max(worst, std::fabs(grads[i] - ref_grads[i]));
    EXPECT_LT(worst, 1e-3) << backend << " fuse=" << fuse;
  }
}

// How many times `what` occurs in `s` (counts node kinds in Plan::describe()).
int count(const std::string& s, const std::string& what) {
  int n = 0;
  for (std::size_t p = s.find(what); p != std::string::npos; p = s.find(what, p + 1)) ++n;
  return n;
}

TEST(PlanTest, FusionFoldsReluIntoConv) {
  Model model = residual_net();
  Plan fused = model.compile_training({.batch = 2, .fuse = true});
  Plan plain = model.compile_training({.batch = 2, .fuse = false});
  EXPECT_EQ(count(plain.describe(), " ReLU "), 2);
  // conv2d's ReLU folds; the ReLU after Add has no conv/dense/bn producer and stays.
  EXPECT_EQ(count(fused.describe(), " ReLU "), 1);
}

// LeNet's tanh activations fold into their conv and dense layers; tanh after BatchNorm does not
// (its kernels fuse ReLU only); training results match the unfused plan.
TEST(PlanTest, FusionFoldsTanhAndSigmoidIntoConvAndDense) {
  Model model = sequential(
      {1, 8, 8},
      {Conv2D{.filters = 3, .activation = Activation::Tanh}, BatchNorm{}, Tanh{}, Flatten{},
       Dense{.units = 5, .activation = Activation::Sigmoid}, Dense{.units = 2}});
  model.initialize(3);
  Plan fused = model.compile_training({.batch = 2, .fuse = true});
  Plan plain = model.compile_training({.batch = 2, .fuse = false});
  EXPECT_EQ(count(plain.describe(), " Tanh "), 2);
  EXPECT_EQ(count(plain.describe(), " Sigmoid "), 1);
  EXPECT_EQ(count(fused.describe(), " Tanh "), 1);
  EXPECT_EQ(count(fused.describe(), " Sigmoid "), 0);
  auto [loss_fused, grads_fused] = train_step(model, {.batch = 2, .fuse = true}, 5);
  auto [loss_plain, grads_plain] = train_step(model, {.batch = 2, .fuse = false}, 5);
  EXPECT_NEAR(loss_fused, loss_plain, 1e-5f);
  for (std::size_t i = 0; i < grads_fused.size(); ++i)
    EXPECT_NEAR(grads_fused[i], grads_plain[i], 1e-4f) << i;
}

// A ReLU read only by a max pooling moves into the pooling (relu(max) = max(relu), on a quarter
// of the elements); one that something else also reads stays where it was (here: in the conv).
TEST(PlanTest, FusionMovesAnActivationReadOnlyByMaxPoolingIntoIt) {
  Value x = Input({2, 6, 6});
  Value a = Conv2D{.filters = 3, .kernel = 3, .padding = Padding::Same}(x);
  Value r = ReLU{}(a);
  Value p = MaxPool2D{.pool = 2}(r);
  Value b = Conv2D{.filters = 3, .kernel = 3, .padding = Padding::Same}(r);
  Value q = MaxPool2D{.pool = 2}(ReLU{}(b));
  Model model(x, Dense{.units = 3}(Flatten{}(Add{}({p, q}))));
  const graph::FusedGraph fused = graph::fuse_activations(ModelAccess::graph(model));
  std::vector<std::string> acts;
  for (const graph::Node& n : fused.nodes)
    acts.push_back(std::string(n.op->type()) + ":" +
                   n.op->attrs().get_string("activation", "none"));
  // The first ReLU has two readers (a pooling and a conv): folded into its conv. The second is
  // read only by the pooling: moved into it, so its conv keeps no activation.
  // Flatten is a view of its input (an alias), so it runs no step.
  EXPECT_EQ(acts, (std::vector<std::string>{"Conv2D:relu", "MaxPool2D:none", "Conv2D:none",
                                            "MaxPool2D:relu", "Add:none", "Dense:none"}));
  model.initialize(2);
  auto [loss_fused, grads_fused] = train_step(model, {.batch = 3, .fuse = true}, 4);
  auto [loss_plain, grads_plain] = train_step(model, {.batch = 3, .fuse = false}, 4);
  EXPECT_NEAR(loss_fused, loss_plain, 1e-5f);
  for (std::size_t i = 0; i < grads_fused.size(); ++i)
    EXPECT_NEAR(grads_fused[i], grads_plain[i], 1e-4f) << i;
}

// Between two oneDNN convolutions and a max pooling, activations (and their gradients) are kept
// nChw16c instead of being reordered to NCHW and back at each kernel; the results are those of
// the all-NCHW plan (reorders are exact) and of the reference backend.
TEST(PlanTest, BlockedLayoutsBetweenConvolutionsAndPoolingChangeNoResult) {
  Model model = sequential(
      {3, 12, 12},
      {Conv2D{.filters = 16, .kernel = 3, .activation = Activation::ReLU},
       Conv2D{.filters = 32, .kernel = 3, .padding = Padding::Same, .activation = Activation::ReLU},
       MaxPool2D{.pool = 2}, Flatten{}, Dense{.units = 3}});
  model.initialize(4);
  const TrainingOptions blocked{.batch = 4}, plain{.batch = 4, .blocked_layouts = false},
      reference{.batch = 4, .backend = "reference"};
  auto [loss, grads] = train_step(model, blocked, 6);
  auto [loss_plain, grads_plain] = train_step(model, plain, 6);
  auto [loss_ref, grads_ref] = train_step(model, reference, 6);
  const std::string layout = model.compile_training(blocked).describe();
  const std::string layout_plain = model.compile_training(plain).describe();
  const std::string layout_ref = model.compile_training(reference).describe();
  // Both convolutions write nChw16c (read by a conv and a pooling); the pooling writes NCHW for
  // Flatten; nothing is blocked without the option or on the reference backend.
  EXPECT_EQ(count(layout, " nChw16c "), 2) << layout;
  EXPECT_EQ(count(layout_plain, " nChw16c "), 0);
  EXPECT_EQ(count(layout_ref, " nChw16c "), 0);
  EXPECT_NEAR(loss, loss_plain, 1e-6);
  EXPECT_NEAR(loss, loss_ref, 1e-4);
  float worst_plain = 0, worst_ref = 0;
  for (std::size_t i = 0; i < grads.size(); ++i) {
    worst_plain = std::max(worst_plain, std::fabs(grads[i] - grads_plain[i]));
    worst_ref = std::max(worst_ref, std::fabs(grads[i] - grads_ref[i]));
  }
  EXPECT_LT(worst_plain, 1e-6);
  EXPECT_LT(worst_ref, 1e-3);

  // Batch-1 inference: the 3-channel first conv runs the direct kernel, which writes NCHW only;
  // the second conv still hands nChw16c to the pooling. Same outputs as the NCHW plan.
  auto infer = [&](bool blocked) {
    Plan plan = model.compile_inference({.batch = 1, .blocked_layouts = blocked});
    fill_normal(plan.input().data<float>(), plan.input().numel(), 7, 0.0f, 1.0f);
    plan.forward();
    const Tensor& y = plan.output();
    return std::pair{std::vector<float>(y.data<float>(), y.data<float>() + y.numel()),
                     plan.describe()};
  };
  auto [y, describe] = infer(true);
  auto [y_plain, describe_plain] = infer(false);
  EXPECT_EQ(count(describe, " direct "), 1) << describe;
  EXPECT_EQ(count(describe, " nChw16c "), 1) << describe;
  for (std::size_t i = 0; i < y.size(); ++i) EXPECT_NEAR(y[i], y_plain[i], 1e-6f) << i;
}

// Batch norm keeps its input's layout (oneDNN's kernel on nChw16c, the SIMD kernel on NCHW), so
// its input is blocked only where its output can be: between convolutions and a pooling it is;
// before a Flatten neither is. Results match the NCHW plan and the reference.
TEST(PlanTest, BatchNormIsBlockedOnlyWhereItsOutputCanBe) {
  Model model = sequential(
      {3, 10, 10}, {Conv2D{.filters = 16, .kernel = 3, .padding = Padding::Same}, BatchNorm{},
                    ReLU{}, Conv2D{.filters = 16, .kernel = 3, .padding = Padding::Same},
                    BatchNorm{}, MaxPool2D{.pool = 2}, Conv2D{.filters = 32, .kernel = 3},
                    BatchNorm{}, Flatten{}, Dense{.units = 3}});
  model.initialize(5);
  const std::string steps = model.compile_training({.batch = 4}).describe();
  // conv, bn (relu fused), conv, bn and the pooling write nChw16c; the last BN feeds Flatten, so
  // it and the conv before it stay NCHW (the SIMD kernel).
  EXPECT_EQ(count(steps, " nChw16c "), 5) << steps;
  EXPECT_EQ(count(steps, "BatchNorm            onednn"), 2) << steps;
  EXPECT_EQ(count(steps, "BatchNorm            simd"), 1) << steps;
  auto [loss, grads] = train_step(model, {.batch = 4}, 2);
  auto [loss_plain, grads_plain] = train_step(model, {.batch = 4, .blocked_layouts = false}, 2);
  auto [loss_ref, grads_ref] = train_step(model, {.batch = 4, .backend = "reference"}, 2);
  EXPECT_NEAR(loss, loss_plain, 1e-4);
  EXPECT_NEAR(loss, loss_ref, 1e-4);
  for (std::size_t i = 0; i < grads.size(); ++i) {
    EXPECT_NEAR(grads[i], grads_plain[i], 1e-3f) << i;
    EXPECT_NEAR(grads[i], grads_ref[i], 1e-3f) << i;
  }
}

// A blocked value read by two convolutions: its gradient is the sum of both, added in nChw16c.
// An inference plan whose output is a view (Flatten) returns it in its own shape.
TEST(PlanTest, BlockedGradientsOfAValueWithTwoReadersAndAViewAsOutput) {
  Value x = Input({3, 8, 8});
  Value a = Conv2D{
      .filters = 16, .kernel = 3, .padding = Padding::Same, .activation = Activation::ReLU}(x);
  Value b = Conv2D{.filters = 16, .kernel = 3, .padding = Padding::Same}(a);
  Value c = Conv2D{.filters = 16, .kernel = 1}(a);
  Model model(x, Dense{.units = 3}(Flatten{}(Add{}({b, c}))));
  model.initialize(6);
  const std::string steps = model.compile_training({.batch = 2}).describe();
  EXPECT_EQ(count(steps, " nChw16c "), 1) << steps;  // a; b and c feed the (reference) Add
  auto [loss, grads] = train_step(model, {.batch = 2}, 8);
  auto [loss_plain, grads_plain] = train_step(model, {.batch = 2, .blocked_layouts = false}, 8);
  EXPECT_NEAR(loss, loss_plain, 1e-6);
  for (std::size_t i = 0; i < grads.size(); ++i) EXPECT_NEAR(grads[i], grads_plain[i], 1e-5f) << i;

  Model features(x, Flatten{}(a));
  features.initialize(6);
  Plan plan = features.compile_inference({.batch = 2});
  Plan unfused = features.compile_inference({.batch = 2, .fuse = false});
  fill_normal(plan.input().data<float>(), plan.input().numel(), 3, 0.0f, 1.0f);
  std::copy(plan.input().data<float>(), plan.input().data<float>() + plan.input().numel(),
            unfused.input().data<float>());
  plan.forward();
  unfused.forward();
  ASSERT_EQ(plan.output().shape(), (Shape{2, 16 * 8 * 8}));
  for (std::int64_t i = 0; i < plan.output().numel(); ++i)
    EXPECT_EQ(plan.output().data<float>()[i], unfused.output().data<float>()[i]) << i;
}

// Flatten and Reshape are views (no step, no copy): a plan with them fused away trains exactly
// like the one that runs them. A conv reading a 16-channel value through a Reshape to another
// shape must not get it blocked (the view is of the NCHW bytes).
TEST(PlanTest, FlattenAndReshapeAreViewsOfTheirInput) {
  Model model =
      sequential({3, 8, 8}, {Conv2D{.filters = 16, .kernel = 3, .padding = Padding::Same},
                             Reshape{.shape = {32, 4, 8}},
                             Conv2D{.filters = 16, .kernel = 3, .activation = Activation::ReLU},
                             Flatten{}, Dense{.units = 3}});
  model.initialize(8);
  const std::string steps = model.compile_training({.batch = 2}).describe();
  EXPECT_EQ(count(steps, " Reshape "), 0) << steps;
  EXPECT_EQ(count(steps, " Flatten "), 0) << steps;
  EXPECT_EQ(count(steps, " nChw16c "), 0) << steps;
  EXPECT_EQ(count(model.compile_training({.batch = 2, .fuse = false}).describe(), " Flatten "), 1);
  auto [loss, grads] = train_step(model, {.batch = 2}, 3);
  auto [loss_plain, grads_plain] = train_step(model, {.batch = 2, .fuse = false}, 3);
  EXPECT_NEAR(loss, loss_plain, 1e-6);
  for (std::size_t i = 0; i < grads.size(); ++i) EXPECT_NEAR(grads[i], grads_plain[i], 1e-6f) << i;
  Plan infer = model.compile_inference({.batch = 2});
  EXPECT_EQ(infer.output().shape(), (Shape{2, 3}));
}

TEST(PlanTest, FrozenLayerGetsNoGradientAndNoUpdate) {
  Model model = sequential({1, 8, 8}, {Conv2D{.filters = 3, .name = "features"}, Flatten{},
                                       Dense{.units = 2, .name = "head"}});
  model.initialize(1);
  model.set_trainable("features", false);
  EXPECT_EQ(model.trainable_parameter_count(), 3 * 6 * 6 * 2 + 2);
  Tensor w = model.parameter("features.weight");
  Tensor before = w.clone();
  auto block = model.parameter_block();
  std::fill(const_cast<float*>(block.grads), const_cast<float*>(block.grads) + block.numel,
            12345.0f);
  Plan plan = model.compile_training({.batch = 2});
  fill_batch(plan, 3);
  for (std::int64_t i = 0; i < 2; ++i) plan.labels().data<std::int32_t>()[i] = std::int32_t(i);
  auto sgd = optim::make_sgd({.lr = 0.1});
  train::train_step(plan, *sgd);
  EXPECT_EQ(max_abs_diff(w, before), 0.0f);
  for (const auto& slot : block.slots)
    if (slot.name.starts_with("features"))
      EXPECT_EQ(block.grads[slot.offset], 12345.0f) << slot.name;
    else
      EXPECT_NE(block.grads[slot.offset], 12345.0f) << slot.name;
}

TEST(PlanTest, InferencePlanNeedsFarLessMemoryThanTraining) {
  std::vector<Layer> layers;
  for (int i = 0; i < 8; ++i)
    layers.push_back(
        Conv2D{.filters = 16, .padding = Padding::Same, .activation = Activation::ReLU});
  layers.push_back(MaxPool2D{});
  layers.push_back(Flatten{});
  layers.push_back(Dense{.units = 10});
  Model model = sequential({1, 28, 28}, layers);
  Plan infer = model.compile_inference({.batch = 64});
  Plan train = model.compile_training({.batch = 64});
  EXPECT_LT(infer.memory_bytes() * 2, train.memory_bytes());
  EXPECT_LT(infer.memory_bytes(), infer.unplanned_bytes());
}

TEST(PlanTest, TinyInferencePlansRunOnOneThreadAndLeaveTheCallersSettingAlone) {
  Model model = residual_net();
  model.initialize(3);
  const int caller = omp_get_max_threads();
  Plan automatic = model.compile_inference({.batch = 2});
  Plan pinned = model.compile_inference({.batch = 2, .threads = 2});
  Plan big = model.compile_training({.batch = 2});
  EXPECT_EQ(automatic.threads(), 1);  // a few kFLOPs per call
  EXPECT_EQ(pinned.threads(), 2);
  EXPECT_EQ(big.threads(), 0);  // training plans keep the caller's setting
  fill_normal(automatic.input().data<float>(), automatic.input().numel(), 11, 0.0f, 1.0f);
  pinned.input().copy_from(automatic.input());
  automatic.forward();
  pinned.forward();
  EXPECT_EQ(omp_get_max_threads(), caller);
  for (std::int64_t i = 0; i < automatic.output().numel(); ++i)
    EXPECT_NEAR(automatic.output().data<float>()[i], pinned.output().data<float>()[i], 1e-5f) << i;
}

class PlanAllocationTest : public ::testing::TestWithParam<const char*> {};

TEST_P(PlanAllocationTest, TrainingStepAllocatesNothing) {
  Model model = residual_net();
  Plan plan = model.compile_training({.batch = 8, .backend = GetParam()});
  auto adam = optim::make_adam({.lr = 1e-3});
  fill_batch(plan, 4);
  train::train_step(plan, *adam);  // first step: kernels and optimizer state settle
  std::vector<long> per_step;
  for (int i = 0; i < 3; ++i) {
    g_allocations = 0;
    g_count_allocations = true;
    train::train_step(plan, *adam);
    g_count_allocations = false;
    per_step.push_back(g_allocations.load());
  }
  if (std::string(GetParam()) == "reference") {
    EXPECT_EQ(per_step, (std::vector<long>{0, 0, 0}));
  } else {
    // NOTE: oneDNN 2.6's primitive execute copies its argument list into a hash map (a few small
    // allocations per primitive call, inside libdnnl); convkit's own code allocates nothing, so
    // the count is the same every step and never grows.
    EXPECT_EQ(per_step[0], per_step[1]);
    EXPECT_EQ(per_step[1], per_step[2]);
    EXPECT_LT(per_step[0], 1000);
  }
}

INSTANTIATE_TEST_SUITE_P(Backends, PlanAllocationTest, ::testing::Values("reference", "cpu"));

// The gradient-ready hook's events are laid out at compile time: a step with a hook set
// allocates nothing either (the reference backend, whose kernels allocate nothing).
TEST(PlanHookAllocationTest, GradientReadyHookAllocatesNothing) {
  Model model = residual_net();
  Plan plan = model.compile_training({.batch = 4, .backend = "reference"});
  auto sgd = optim::make_sgd({.lr = 0.01, .momentum = 0.9});
  std::int64_t reported = 0;
  plan.set_gradient_ready_hook([&reported](const GradientReady& e) { reported += e.numel; });
  fill_batch(plan, 4);
  train::train_step(plan, *sgd);
  EXPECT_GT(reported, 0);
  g_allocations = 0;
  g_count_allocations = true;
  for (int i = 0; i < 3; ++i) train::train_step(plan, *sgd);
  g_count_allocations = false;
  EXPECT_EQ(g_allocations.load(), 0);
}

TEST(PlanTest, ShapeMismatchNamesLayerAndBothShapes) {
  Value x = Input({3, 8, 8});
  Value a = Conv2D{.filters = 4, .padding = Padding::Same, .name = "left"}(x);
  Value b = Conv2D{.filters = 5, .padding = Padding::Same, .name = "right"}(x);
  try {
    Add{.name = "merge"}({a, b});
    FAIL() << "expected an error";
  } catch (const Error& e) {
    std::string msg = e.what();
    EXPECT_NE(msg.find("merge"), std::string::npos) << msg;
    EXPECT_NE(msg.find("[1, 4, 8, 8]"), std::string::npos) << msg;
    EXPECT_NE(msg.find("[1, 5, 8, 8]"), std::string::npos) << msg;
  }
}

}  // namespace
}  // namespace convkit::nn

namespace convkit::nn {
namespace {

// Three SGD steps of the residual net with `threads` OpenMP threads; returns all parameters.
// (SGD: Adam would turn a rounding-level gradient of a parameter whose true gradient is ~0 into a
// full +-lr step, hiding how close the two runs really are.)
std::vector<float> train_with_threads(const char* backend, int threads) {
  const int before = omp_get_max_threads();
  omp_set_num_threads(threads);
  Model model = residual_net();
  model.initialize(21);
  Plan plan = model.compile_training({.batch = 16, .backend = backend});
  auto sgd = optim::make_sgd({.lr = 0.1, .momentum = 0.9});
  for (int step = 0; step < 3; ++step) {
    fill_batch(plan, 30 + step);
    train::train_step(plan, *sgd);
  }
  omp_set_num_threads(before);
  auto block = model.parameter_block();
  return std::vector<float>(block.params, block.params + block.numel);
}

TEST(PlanDeterminismTest, ReferenceBackendIsBitwiseIdenticalForAnyThreadCount) {
  EXPECT_EQ(train_with_threads("reference", 1), train_with_threads("reference", 2));
  EXPECT_EQ(train_with_threads("reference", 1), train_with_threads("reference", 3));
}

TEST(PlanDeterminismTest, CpuBackendIsIdenticalForOneThreadCountAndCloseAcross) {
  // Same seed, same thread count: bitwise identical.
  EXPECT_EQ(train_with_threads("cpu", 2), train_with_threads("cpu", 2));
  // NOTE: across thread counts oneDNN splits its weight-gradient and batch-norm reductions
  // differently, so float sums round differently (about 1e-7 relative per step); the random
  // streams (init, dropout) are identical.
  auto a = train_with_threads("cpu", 1), b = train_with_threads("cpu", 2);
  float worst = 0;
  for (std::size_t i = 0; i < a.size(); ++i) worst = std::max(worst, std::fabs(a[i] - b[i]));
  EXPECT_LT(worst, 1e-4f);
}

}  // namespace
}  // namespace convkit::nn
