// What every optimizer shares: frozen slots, decay=false slots, L1, global-norm clipping, a
// norm independent of thread count, state()/load_state() round trips and their errors, and
// block validation.
#include "optim/reference.h"

#include <convkit/util/rng.h>

#include <gtest/gtest.h>
#include <omp.h>

#include <cmath>
#include <functional>
#include <limits>
#include <string>

namespace convkit::optim {
namespace {

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();

// Runs `f`, expects an Error whose message contains every one of `parts`.
void expect_error(const std::function<void()>& f, std::initializer_list<std::string> parts) {
  try {
    f();
    ADD_FAILURE() << "expected convkit::Error";
  } catch (const Error& e) {
    for (const auto& part : parts)
      EXPECT_NE(std::string(e.what()).find(part), std::string::npos)
          << "'" << part << "' not in: " << e.what();
  }
}

TEST(OptimizerTest, FrozenSlotsAreUntouchedAndTheirGradientsNeverRead) {
  // The frozen slot's gradient is NaN: reading it would poison the norm and every update.
  std::vector<float> params{1.0f, 2.0f, 3.0f, 4.0f, 5.0f}, grads{0.5f, kNaN, kNaN, kNaN, -0.5f};
  std::vector<ParamSlot> slots{{.name = "a", .offset = 0, .numel = 1},
                               {.name = "frozen", .offset = 1, .numel = 3, .trainable = false},
                               {.name = "c", .offset = 4, .numel = 1}};
  for (auto& opt :
       {make_sgd({.lr = 0.1, .momentum = 0.9, .reg = {.weight_decay = 0.05, .clip_norm = 1}}),
        make_adam({.reg = {.l1 = 0.1}}), make_rmsprop({.centered = true})}) {
    std::vector<float> p = params;
    for (int s = 0; s < 3; ++s)
      opt->step({.params = p.data(), .grads = grads.data(), .numel = 5, .slots = slots});
    EXPECT_EQ(p[1], 2.0f) << opt->name();
    EXPECT_EQ(p[2], 3.0f) << opt->name();
    EXPECT_EQ(p[3], 4.0f) << opt->name();
    EXPECT_TRUE(std::isfinite(p[0]) && p[0] < 1.0f) << opt->name();
    EXPECT_TRUE(std::isfinite(p[4]) && p[4] > 5.0f) << opt->name();
    EXPECT_NEAR(opt->last_grad_norm(), std::sqrt(0.5), 1e-12) << opt->name();
    for (const auto& [key, t] : opt->state())
      for (int i = 1; i < 4; ++i) EXPECT_EQ(t.data<float>()[i], 0.0f) << opt->name() << " " << key;
  }
}

TEST(OptimizerTest, DecayFalseSlotsGetNoWeightDecayOrL1) {
  std::vector<float> params{2.0f, -1.0f, 0.0f, 2.0f, -1.0f}, grads{0.5f, 0.5f, 0.5f, 0.5f, 0.5f};
  std::vector<ParamSlot> slots{{.name = "kernel", .offset = 0, .numel = 3},
                               {.name = "bias", .offset = 3, .numel = 2, .decay = false}};
  auto opt = make_sgd({.lr = 0.1, .reg = {.weight_decay = 0.5, .l1 = 0.2}});
  opt->step({.params = params.data(), .grads = grads.data(), .numel = 5, .slots = slots});
  // kernel: w -= lr * (g + wd*w + l1*sign(w)); sign(0) = 0.
  EXPECT_FLOAT_EQ(params[0], 2.0f - 0.1f * (0.5f + 1.0f + 0.2f));
  EXPECT_FLOAT_EQ(params[1], -1.0f - 0.1f * (0.5f - 0.5f - 0.2f));
  EXPECT_FLOAT_EQ(params[2], 0.0f - 0.1f * 0.5f);
  // bias: plain gradient step.
  EXPECT_FLOAT_EQ(params[3], 2.0f - 0.1f * 0.5f);
  EXPECT_FLOAT_EQ(params[4], -1.0f - 0.1f * 0.5f);
}

TEST(OptimizerTest, PerSlotPenaltiesAddToTheOptimizerWideOnesOnDecayedSlotsOnly) {
  std::vector<float> params{2.0f, -1.0f, 2.0f}, grads{0.5f, 0.5f, 0.5f};
  std::vector<ParamSlot> slots{
      {.name = "kernel", .offset = 0, .numel = 2, .l1 = 0.1f, .l2 = 0.3f},
      {.name = "bias", .offset = 2, .numel = 1, .decay = false, .l1 = 0.1f, .l2 = 0.3f}};
  auto opt = make_sgd({.lr = 0.1, .reg = {.weight_decay = 0.5, .l1 = 0.2}});
  opt->step({.params = params.data(), .grads = grads.data(), .numel = 3, .slots = slots});
  // kernel: g + (wd + l2)*w + (l1 + slot l1)*sign(w).
  EXPECT_FLOAT_EQ(params[0], 2.0f - 0.1f * (0.5f + 0.8f * 2.0f + 0.3f));
  EXPECT_FLOAT_EQ(params[1], -1.0f - 0.1f * (0.5f - 0.8f - 0.3f));
  EXPECT_FLOAT_EQ(params[2], 2.0f - 0.1f * 0.5f);  // decay = false wins over the slot's penalties
}

TEST(OptimizerTest, L1AddsSignOfWeight) {
  std::vector<float> params{3.0f, -3.0f}, grads{0.0f, 1.0f};
  std::vector<ParamSlot> slots{{.name = "w", .offset = 0, .numel = 2}};
  auto opt = make_sgd({.lr = 0.5, .reg = {.l1 = 0.25}});
  opt->step({.params = params.data(), .grads = grads.data(), .numel = 2, .slots = slots});
  EXPECT_FLOAT_EQ(params[0], 3.0f - 0.5f * 0.25f);
  EXPECT_FLOAT_EQ(params[1], -3.0f - 0.5f * (1.0f - 0.25f));
  EXPECT_EQ(grads[0], 0.0f);  // the gradient arena itself is never modified
  EXPECT_EQ(grads[1], 1.0f);
}

TEST(OptimizerTest, ClippingScalesTheGlobalNormToClipNorm) {
  // Global norm over two slots: sqrt(3^2 + 4^2 + 12^2) = 13. With lr = 1, w0 - w1 = the clipped
  // grad.
  const std::vector<float> w0{1.0f, 1.0f, 1.0f}, grads{3.0f, 4.0f, 12.0f};
  std::vector<ParamSlot> slots{{.name = "a", .offset = 0, .numel = 2},
                               {.name = "b", .offset = 2, .numel = 1}};
  for (double clip : {6.5, 1.0, 20.0}) {
    std::vector<float> w = w0;
    auto opt = make_sgd({.lr = 1.0, .reg = {.clip_norm = clip}});
    opt->step({.params = w.data(), .grads = grads.data(), .numel = 3, .slots = slots});
    EXPECT_DOUBLE_EQ(opt->last_grad_norm(), 13.0);
    double norm2 = 0;
    for (int i = 0; i < 3; ++i) {
      const double applied = w0[i] - w[i];
      norm2 += applied * applied;
      EXPECT_NEAR(applied / grads[i], std::min(1.0, clip / 13.0), 1e-6) << "direction is kept";
    }
    EXPECT_NEAR(std::sqrt(norm2), std::min(clip, 13.0), 1e-5 * clip) << "clip_norm " << clip;
  }
}

TEST(OptimizerTest, NormAndUpdatesDoNotDependOnThreadCount) {
  // Slots large enough for the parallel paths (and several norm chunks), plus a small one.
  const std::int64_t sizes[] = {200000, 1000, 70001};
  std::vector<ParamSlot> slots;
  std::int64_t total = 0;
  for (std::int64_t n : sizes) {
    slots.push_back({.name = "s" + std::to_string(slots.size()), .offset = total, .numel = n});
    total += n + 16;
  }
  std::vector<float> w0(total), grads(total);
  fill_normal(w0.data(), total, 11, 0.0f, 1.0f);
  fill_normal(grads.data(), total, 12, 0.0f, 1.0f);
  long double exact = 0;
  for (const auto& s : slots)
    for (std::int64_t i = 0; i < s.numel; ++i)
      exact += static_cast<long double>(grads[s.offset + i]) * grads[s.offset + i];

  auto run = [&](int threads, std::vector<float>& w) {
    omp_set_num_threads(threads);
    w = w0;
    auto opt = make_adam({.lr = 0.01, .reg = {.weight_decay = 0.01, .clip_norm = 100}});
    for (int s = 0; s < 3; ++s)
      opt->step({.params = w.data(), .grads = grads.data(), .numel = total, .slots = slots});
    return opt->last_grad_norm();
  };
  const int saved = omp_get_max_threads();
  std::vector<float> w1, w3;
  const double n1 = run(1, w1), n3 = run(3, w3);
  omp_set_num_threads(saved);
  EXPECT_EQ(n1, n3) << "bit-identical norm";
  EXPECT_NEAR(n1, std::sqrt(static_cast<double>(exact)), 1e-9 * n1);
  EXPECT_EQ(w1, w3) << "bit-identical parameters";
  EXPECT_NE(w1, w0);
}

// Two steps on A, state to B, two more on both: both must agree bit for bit.
void expect_round_trip(const std::function<std::unique_ptr<Optimizer>()>& make) {
  auto a = make();
  testing::RefBlock ra;
  for (int s = 0; s < 2; ++s) {
    ra.set_grads(s);
    a->step(ra.block());
  }
  auto b = make();
  b->load_state(a->state(), a->steps());
  EXPECT_EQ(b->steps(), 2);
  testing::RefBlock rb;
  rb.params = ra.params;
  for (int s = 2; s < 4; ++s) {
    ra.set_grads(s);
    rb.set_grads(s);
    a->step(ra.block());
    b->step(rb.block());
  }
  EXPECT_EQ(ra.params, rb.params) << a->name();
  auto sa = a->state(), sb = b->state();
  ASSERT_EQ(sa.size(), sb.size());
  for (std::size_t k = 0; k < sa.size(); ++k) {
    EXPECT_EQ(sa[k].first, sb[k].first);
    EXPECT_EQ(max_abs_diff(sa[k].second, sb[k].second), 0.0f) << a->name() << " " << sa[k].first;
  }
}

TEST(OptimizerTest, StateRoundTripContinuesIdentically) {
  expect_round_trip([] { return make_sgd({.lr = 0.1, .momentum = 0.8, .dampening = 0.3}); });
  expect_round_trip([] { return make_sgd({.lr = 0.1, .momentum = 0.9, .nesterov = true}); });
  expect_round_trip([] { return make_adam({.lr = 0.02, .amsgrad = true}); });
  expect_round_trip([] { return make_adamw({.lr = 0.02, .weight_decay = 0.1}); });
  expect_round_trip([] { return make_rmsprop({.momentum = 0.5, .centered = true}); });
}

TEST(OptimizerTest, StateIsACopyAndLoadResetsWithEmptyState) {
  auto opt = make_adam({});
  EXPECT_TRUE(opt->state().empty());  // nothing before the first step
  testing::RefBlock ref;
  ref.set_grads(0);
  opt->step(ref.block());
  auto state = opt->state();
  ASSERT_EQ(state.size(), 2u);
  state[0].second.fill(123.0f);
  EXPECT_NE(opt->state()[0].second.data<float>()[0], 123.0f);
  opt->load_state({}, 0);
  EXPECT_EQ(opt->steps(), 0);
  EXPECT_TRUE(opt->state().empty());
}

TEST(OptimizerTest, LoadStateNamesTheMismatch) {
  auto adam = make_adam({});
  const Tensor t18 = Tensor::zeros({18}), t10 = Tensor::zeros({10});
  expect_error(
      [&] {
        adam->load_state({{"exp_avg", t18}, {"velocity", t18}}, 3);
      },
      {"velocity", "exp_avg"});
  expect_error([&] { adam->load_state({{"exp_avg", t18}}, 3); }, {"exp_avg_sq", "missing"});
  expect_error(
      [&] {
        adam->load_state({{"exp_avg", t18}, {"exp_avg", t18}}, 3);
      },
      {"exp_avg", "twice"});
  expect_error(
      [&] {
        adam->load_state({{"exp_avg", t18}, {"exp_avg_sq", t10}}, 3);
      },
      {"exp_avg_sq", "10", "18"});
  expect_error(
      [&] {
        adam->load_state({{"exp_avg", t18}, {"exp_avg_sq", Tensor::zeros({18}, DType::i32)}}, 3);
      },
      {"exp_avg_sq", "f32"});
  expect_error([&] { adam->load_state({}, -1); }, {"-1"});
  expect_error([&] { make_sgd({})->load_state({{"momentum", t18}}, 1); }, {"momentum", "nothing"});
  // State sized for another model: the next step says so.
  adam->load_state({{"exp_avg_sq", t10}, {"exp_avg", t10}}, 3);
  testing::RefBlock ref;
  ref.set_grads(0);
  expect_error([&] { adam->step(ref.block()); }, {"10", "18"});
  EXPECT_EQ(adam->steps(), 3) << "a failed step does not count";
}

TEST(OptimizerTest, MalformedBlocksAreRejected) {
  std::vector<float> params(8), grads(8);
  std::vector<ParamSlot> slots{{.name = "conv1.weight", .offset = 4, .numel = 6}};
  auto opt = make_sgd({});
  expect_error(
      [&] {
        opt->step({.params = params.data(), .grads = grads.data(), .numel = 8, .slots = slots});
      },
      {"conv1.weight", "offset 4", "6"});
  expect_error([&] { opt->step({.params = params.data(), .grads = nullptr, .numel = 8}); },
               {"grads"});
  EXPECT_EQ(opt->steps(), 0);
}

TEST(OptimizerTest, LearningRateCanBeScheduled) {
  std::vector<float> w{1.0f}, g{1.0f};
  std::vector<ParamSlot> slots{{.name = "w", .offset = 0, .numel = 1}};
  auto opt = make_sgd({.lr = 0.5});
  opt->set_lr(0.25);
  EXPECT_EQ(opt->lr(), 0.25);
  opt->step({.params = w.data(), .grads = g.data(), .numel = 1, .slots = slots});
  EXPECT_FLOAT_EQ(w[0], 0.75f);
  opt->set_lr(0.0);  // schedules may reach 0
  opt->step({.params = w.data(), .grads = g.data(), .numel = 1, .slots = slots});
  EXPECT_FLOAT_EQ(w[0], 0.75f);
  EXPECT_EQ(opt->steps(), 2);
  expect_error([&] { opt->set_lr(-0.1); }, {"lr", "-0.1"});
  expect_error([&] { opt->set_lr(std::nan("")); }, {"lr"});
}

}  // namespace
}  // namespace convkit::optim
