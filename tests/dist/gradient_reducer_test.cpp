// GradientReducer over a recording process group: every trainable gradient is reduced exactly
// once per step, buckets are contiguous and never hold a trainable value that is not final yet,
// the cap splits them, gradients are scaled by the rank's share, and without overlap nothing
// starts before backward ends.
#include <convkit/dist/gradient_reducer.h>
#include <convkit/nn/model.h>
#include <convkit/util/error.h>
#include <convkit/util/rng.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

namespace convkit::dist {
namespace {

// Records the ranges handed to collectives (and when), doubling them: a stand-in for a second
// rank holding the same gradients.
class RecordingGroup final : public ProcessGroup {
 public:
  struct Started {
    const float* data;
    std::size_t count;
    bool during_backward;
  };
  int rank() const override { return 0; }
  int size() const override { return 2; }
  void all_reduce_sum(std::span<double>) override {}
  void broadcast(std::span<float>, int) override {}
  void broadcast(std::span<std::byte>, int) override {}
  void start_all_reduce_sum(std::span<float> v) override {
    started.push_back({v.data(), v.size(), in_backward});
    for (float& x : v) x *= 2;
  }
  void start_all_reduce_sum(std::span<double>) override {}
  void progress() override { ++progress_calls; }
  void wait_all() override { ++waits; }

  std::vector<Started> started;
  bool in_backward = false;
  int progress_calls = 0, waits = 0;
};

// Three convolutions and a dense head; the middle convolution frozen (a gap in the arena that
// must not be reduced twice or read before it is final).
nn::Model three_conv_net(bool freeze_middle) {
  using namespace nn;
  Value x = Input({2, 8, 8});
  Value y = Conv2D{.filters = 8, .kernel = 3, .padding = Padding::Same, .name = "c1"}(x);
  y = Conv2D{.filters = 8, .kernel = 3, .padding = Padding::Same, .name = "c2"}(y);
  y = Conv2D{.filters = 8, .kernel = 3, .padding = Padding::Same, .name = "c3"}(y);
  y = Dense{.units = 5, .name = "head"}(Flatten{}(y));
  Model model(x, y);
  if (freeze_middle) model.set_trainable("c2", false);
  model.initialize(3);
  return model;
}

struct StepResult {
  std::vector<float> before, after;  // gradients without and with the reducer
  std::shared_ptr<RecordingGroup> group;
  std::vector<std::pair<std::int64_t, std::int64_t>> buckets;
  ParamBlock block;
};

StepResult run_step(nn::Model& model, ReducerOptions options, double weight) {
  nn::Plan plan = model.compile_training({.batch = 4});
  Tensor in = plan.input();
  fill_normal(in.data<float>(), in.numel(), derive_key(5, "x"), 0.0f, 1.0f);
  for (std::int64_t i = 0; i < 4; ++i) plan.labels().data<std::int32_t>()[i] = std::int32_t(i);
  StepResult r;
  r.block = plan.parameter_block();
  plan.forward();
  plan.backward();
  r.before.assign(r.block.grads, r.block.grads + r.block.numel);
  r.group = std::make_shared<RecordingGroup>();
  GradientReducer reducer(r.group, options);
  reducer.bind(plan.parameter_block());
  plan.set_gradient_ready_hook(reducer.hook());
  plan.forward();
  reducer.begin_step(weight);
  r.group->in_backward = true;
  plan.backward();
  r.group->in_backward = false;
  reducer.finish_step();
  r.after.assign(r.block.grads, r.block.grads + r.block.numel);
  r.buckets = reducer.last_buckets();
  return r;
}

// Every trainable value was in exactly one started range, and was scaled by weight x 2.
void expect_each_trainable_reduced_once(const StepResult& r, double weight) {
  std::vector<int> count(std::size_t(r.block.numel), 0);
  for (const auto& s : r.group->started) {
    const std::int64_t begin = s.data - r.block.grads;
    ASSERT_GE(begin, 0);
    ASSERT_LE(begin + std::int64_t(s.count), r.block.numel);
    for (std::size_t i = 0; i < s.count; ++i) ++count[std::size_t(begin) + i];
  }
  for (const ParamSlot& slot : r.block.slots) {
    if (!slot.trainable) continue;
    for (std::int64_t i = slot.offset; i < slot.offset + slot.numel; ++i) {
      ASSERT_EQ(count[std::size_t(i)], 1) << slot.name << " value " << i - slot.offset;
      EXPECT_FLOAT_EQ(r.after[std::size_t(i)], float(r.before[std::size_t(i)] * weight * 2))
          << slot.name;
    }
  }
}

TEST(GradientReducerTest, OneBucketHoldsTheWholeModelWhenTheCapIsLarge) {
  nn::Model model = three_conv_net(false);
  StepResult r = run_step(model, {.bucket_floats = 1 << 30}, 0.5);
  expect_each_trainable_reduced_once(r, 0.5);
  ASSERT_EQ(r.group->started.size(), 1u);  // contiguous arena: one range
  EXPECT_FALSE(r.group->started[0].during_backward);
  EXPECT_EQ(r.group->waits, 1);
}

TEST(GradientReducerTest, SmallCapStartsBucketsDuringBackwardInDescendingOrder) {
  nn::Model model = three_conv_net(false);
  StepResult r = run_step(model, {.bucket_floats = 600}, 0.25);
  expect_each_trainable_reduced_once(r, 0.25);
  ASSERT_GE(r.group->started.size(), 3u);
  EXPECT_TRUE(r.group->started.front().during_backward);
  for (std::size_t i = 1; i < r.group->started.size(); ++i)
    EXPECT_LT(r.group->started[i].data, r.group->started[i - 1].data);  // reverse graph order
  EXPECT_GT(r.group->progress_calls, 0);
}

TEST(GradientReducerTest, FrozenLayerInTheMiddleIsStillReducedOnlyWhereTrainable) {
  nn::Model model = three_conv_net(true);
  StepResult r = run_step(model, {.bucket_floats = 1 << 30}, 1.0);
  expect_each_trainable_reduced_once(r, 1.0);
}

// Hand-made events over slots A [0, 10), B [10, 20), C [20, 30) of one arena.
struct Arena {
  std::vector<float> grads = std::vector<float>(30, 1.0f);
  std::vector<ParamSlot> slots = {{.name = "A", .offset = 0, .numel = 10},
                                  {.name = "B", .offset = 10, .numel = 10},
                                  {.name = "C", .offset = 20, .numel = 10}};
  ParamBlock block() { return {.grads = grads.data(), .numel = 30, .slots = slots}; }
  GradientReady event(int slot) {
    const ParamSlot& s = slots[std::size_t(slot)];
    return {.layer = s.name,
            .offset = s.offset,
            .numel = s.numel,
            .grads = std::span<float>(grads.data() + s.offset, std::size_t(s.numel))};
  }
};

TEST(GradientReducerTest, NeverSpansATrainableRangeThatIsNotFinalYet) {
  Arena arena;
  auto group = std::make_shared<RecordingGroup>();
  GradientReducer reducer(group, {.bucket_floats = 1000});
  reducer.bind(arena.block());
  auto hook = reducer.hook();
  reducer.begin_step(1.0);
  hook(arena.event(2));  // C
  hook(arena.event(0));  // A, below C, but B (trainable, not reported) lies between
  hook(arena.event(1));  // B, above the pending bucket
  reducer.finish_step();
  const std::vector<std::pair<std::int64_t, std::int64_t>> expected = {{20, 10}, {0, 10}, {10, 10}};
  EXPECT_EQ(reducer.last_buckets(), expected);
  for (float g : arena.grads) EXPECT_EQ(g, 2.0f);  // each value reduced once
}

TEST(GradientReducerTest, SpansAGapThatHoldsNothingTrainable) {
  Arena arena;
  arena.slots[1].trainable = false;  // B frozen: its gradients are never read
  auto group = std::make_shared<RecordingGroup>();
  GradientReducer reducer(group, {.bucket_floats = 1000});
  reducer.bind(arena.block());
  auto hook = reducer.hook();
  reducer.begin_step(1.0);
  hook(arena.event(2));
  hook(arena.event(0));
  reducer.finish_step();
  const std::vector<std::pair<std::int64_t, std::int64_t>> expected = {{0, 30}};
  EXPECT_EQ(reducer.last_buckets(), expected);
}

TEST(GradientReducerTest, WithoutOverlapNothingStartsDuringBackward) {
  nn::Model model = three_conv_net(false);
  StepResult r = run_step(model, {.bucket_floats = 600, .overlap = false}, 0.5);
  expect_each_trainable_reduced_once(r, 0.5);
  ASSERT_GE(r.group->started.size(), 3u);
  for (const auto& s : r.group->started) EXPECT_FALSE(s.during_backward);
}

TEST(GradientReducerTest, RefusesBadWeightsAndGradientsOutsideAStep) {
  auto group = std::make_shared<RecordingGroup>();
  GradientReducer reducer(group);
  EXPECT_THROW(reducer.begin_step(0), Error);
  EXPECT_THROW(reducer.begin_step(1.5), Error);
  EXPECT_THROW(reducer.finish_step(), Error);
  EXPECT_THROW(GradientReducer(group, {.bucket_floats = 0}), Error);
  EXPECT_THROW(GradientReducer(nullptr), Error);
}

}  // namespace
}  // namespace convkit::dist
