// Per-slot learning-rate multipliers (parameter groups), in every optimizer: a slot at
// multiplier m steps exactly as the same optimizer at lr*m would (decoupled decay included), a
// multiplier of 0 leaves the slot's values unchanged, and the other slots do not notice.
#include "optim/reference.h"

#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <limits>

namespace convkit::optim {
namespace {

using testing::kOffsetB;
using testing::RefBlock;

struct Case {
  const char* label;
  std::function<std::unique_ptr<Optimizer>(double lr)> make;
};

// Each optimizer with the options that touch the learning rate: momentum, Nesterov, coupled and
// decoupled decay, L1, clipping, AMSGrad, centering.
std::vector<Case> cases() {
  const Regularization reg{.weight_decay = 0.05, .l1 = 0.01, .clip_norm = 1.0};
  return {
      {"sgd", [](double lr) { return make_sgd({.lr = lr}); }},
      {"sgd_nesterov",
       [reg](double lr) {
         return make_sgd({.lr = lr, .momentum = 0.9, .nesterov = true, .reg = reg});
       }},
      {"adam_amsgrad",
       [reg](double lr) { return make_adam({.lr = lr, .amsgrad = true, .reg = reg}); }},
      {"adamw", [](double lr) { return make_adamw({.lr = lr, .weight_decay = 0.1, .l1 = 0.01}); }},
      {"rmsprop",
       [reg](double lr) {
         return make_rmsprop({.lr = lr, .momentum = 0.5, .centered = true, .reg = reg});
       }},
  };
}

// Slot 0 is "w" (4 floats), slot 1 "b" (2 floats).
std::vector<float> w_of(const RefBlock& r) {
  return {r.params.begin(), r.params.begin() + 4};
}
std::vector<float> b_of(const RefBlock& r) {
  return {r.params.begin() + kOffsetB, r.params.begin() + kOffsetB + 2};
}

TEST(LrMultiplierTest, HalfMultiplierStepsAsTheSameOptimizerAtHalfTheLr) {
  for (const Case& c : cases()) {
    SCOPED_TRACE(c.label);
    const double lr = 0.04;
    auto grouped = c.make(lr), half = c.make(lr * 0.5), full = c.make(lr);
    RefBlock a, h, f;
    a.slots[0].lr_multiplier = 0.5;  // "w" at half rate, "b" at the optimizer's
    for (int s = 0; s < 4; ++s) {
      a.set_grads(s);
      h.set_grads(s);
      f.set_grads(s);
      grouped->step(a.block());
      half->step(h.block());
      full->step(f.block());
      EXPECT_EQ(w_of(a), w_of(h)) << "step " << s + 1;
      EXPECT_EQ(b_of(a), b_of(f)) << "step " << s + 1;
    }
    EXPECT_NE(w_of(a), w_of(f));
    EXPECT_EQ(grouped->last_grad_norm(), full->last_grad_norm());  // the norm ignores multipliers
  }
}

TEST(LrMultiplierTest, ZeroMultiplierLeavesTheSlotUnchanged) {
  for (const Case& c : cases()) {
    SCOPED_TRACE(c.label);
    auto grouped = c.make(0.05), full = c.make(0.05);
    RefBlock a, f;
    a.slots[1].lr_multiplier = 0;
    const std::vector<float> b0 = b_of(a);
    for (int s = 0; s < 4; ++s) {
      a.set_grads(s);
      f.set_grads(s);
      grouped->step(a.block());
      full->step(f.block());
      EXPECT_EQ(b_of(a), b0) << "step " << s + 1;
      EXPECT_EQ(w_of(a), w_of(f)) << "step " << s + 1;
    }
    EXPECT_NE(b_of(f), b0);
    for (std::int64_t i = 4; i < kOffsetB; ++i) EXPECT_EQ(a.params[i], testing::kGapParam);
  }
}

TEST(LrMultiplierTest, StateStillAdvancesAtZeroAsATorchGroupWithLrZero) {
  auto grouped = make_sgd({.lr = 0.1, .momentum = 0.9}),
       full = make_sgd({.lr = 0.1, .momentum = 0.9});
  RefBlock a, f;
  a.slots[1].lr_multiplier = 0;
  for (int s = 0; s < 2; ++s) {
    a.set_grads(s);
    f.set_grads(s);
    grouped->step(a.block());
    full->step(f.block());
  }
  // Without decay the momentum of "b" depends only on its gradients: the same in both runs.
  // state() returns copies: keep them alive while reading (a temporary's data would dangle).
  const auto state_a = grouped->state(), state_f = full->state();
  const float* ma = state_a[0].second.data<float>();
  const float* mf = state_f[0].second.data<float>();
  for (std::int64_t i = kOffsetB; i < kOffsetB + 2; ++i) EXPECT_EQ(ma[i], mf[i]) << i;
}

TEST(LrMultiplierTest, NegativeOrNonFiniteMultiplierIsAnErrorNamingTheSlot) {
  for (const double bad : {-0.5, std::numeric_limits<double>::infinity(), std::nan("")}) {
    auto opt = make_adam({});
    RefBlock r;
    r.set_grads(0);
    r.slots[1].lr_multiplier = bad;
    try {
      opt->step(r.block());
      FAIL() << "expected an error for " << bad;
    } catch (const Error& e) {
      const std::string msg = e.what();
      EXPECT_NE(msg.find("'b'"), std::string::npos) << msg;
      EXPECT_NE(msg.find("lr_multiplier"), std::string::npos) << msg;
    }
    EXPECT_EQ(opt->steps(), 0);
    EXPECT_EQ(r.value(4), testing::kB0[0]);
  }
}

}  // namespace
}  // namespace convkit::optim
