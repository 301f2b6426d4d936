// The by-name factory used by configs: names and keys map onto the option structs, and every
// bad name, key or value is an Error naming the key and the value.
#include "optim/reference.h"

#include <gtest/gtest.h>

#include <string>

namespace convkit::optim {
namespace {

std::string error_of(std::string_view name, const OptionList& options) {
  try {
    make_optimizer(name, options);
  } catch (const Error& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected an Error for " << name;
  return {};
}

#define EXPECT_CONTAINS(text, part) \
  EXPECT_NE((text).find(part), std::string::npos) << "'" << (part) << "' not in: " << (text)

// Same options through both doors: identical parameters after four steps.
void expect_same(Optimizer& by_name, Optimizer& direct) {
  testing::RefBlock a, b;
  for (int s = 0; s < 4; ++s) {
    a.set_grads(s);
    b.set_grads(s);
    by_name.step(a.block());
    direct.step(b.block());
  }
  EXPECT_EQ(a.params, b.params) << by_name.name();
  EXPECT_NE(a.params, testing::RefBlock().params);
}

TEST(FactoryTest, KeysMapOntoOptions) {
  auto sgd = make_optimizer(
      "sgd", {{"lr", 0.05}, {"momentum", 0.9}, {"nesterov", 1}, {"weight_decay", 0.01}});
  EXPECT_EQ(sgd->name(), "sgd");
  EXPECT_EQ(sgd->lr(), 0.05);
  expect_same(
      *sgd,
      *make_sgd({.lr = 0.05, .momentum = 0.9, .nesterov = true, .reg = {.weight_decay = 0.01}}));

  auto adam = make_optimizer("adam", {{"lr", 0.02},
                                      {"beta1", 0.8},
                                      {"beta2", 0.95},
                                      {"eps", 1e-6},
                                      {"amsgrad", 1},
                                      {"l1", 0.01},
                                      {"clip_norm", 1}});
  expect_same(*adam, *make_adam({.lr = 0.02,
                                 .beta1 = 0.8,
                                 .beta2 = 0.95,
                                 .eps = 1e-6,
                                 .amsgrad = true,
                                 .reg = {.l1 = 0.01, .clip_norm = 1}}));

  auto rms = make_optimizer("rmsprop", {{"alpha", 0.9}, {"momentum", 0.5}, {"centered", 1}});
  expect_same(*rms, *make_rmsprop({.alpha = 0.9, .momentum = 0.5, .centered = true}));
}

TEST(FactoryTest, AdamWKeepsTorchsDefaultDecayAndDecouplesIt) {
  auto by_name = make_optimizer("adamw");
  EXPECT_EQ(by_name->name(), "adamw");
  expect_same(*by_name, *make_adamw({}));
  // weight_decay on adamw is decoupled, so it differs from adam's coupled L2.
  auto adamw = make_optimizer("adamw", {{"weight_decay", 0.1}, {"lr", 0.01}});
  auto adam = make_optimizer("adam", {{"weight_decay", 0.1}, {"lr", 0.01}});
  testing::RefBlock a, b;
  a.set_grads(0);
  b.set_grads(0);
  adamw->step(a.block());
  adam->step(b.block());
  EXPECT_NE(a.params, b.params);
}

TEST(FactoryTest, ErrorsNameTheKeyAndTheValue) {
  std::string e = error_of("adagrad", {});
  EXPECT_CONTAINS(e, "adagrad");
  EXPECT_CONTAINS(e, "sgd, adam, adamw, rmsprop");

  e = error_of("adam", {{"betas", 0.9}});
  EXPECT_CONTAINS(e, "betas");
  EXPECT_CONTAINS(e, "beta1");  // lists the valid keys

  struct Case {
    std::string_view name;
    OptionList options;
    std::string key, value;
  };
  const Case cases[] = {
      {"sgd", {{"lr", 0}}, "lr", "0"},
      {"sgd", {{"lr", -0.5}}, "lr", "-0.5"},
      {"sgd", {{"momentum", -0.9}}, "momentum", "-0.9"},
      {"sgd", {{"nesterov", 1}}, "nesterov", "momentum 0"},
      {"sgd", {{"nesterov", 0.5}}, "nesterov", "0.5"},
      {"sgd", {{"weight_decay", -0.01}}, "weight_decay", "-0.01"},
      {"sgd", {{"clip_norm", -1}}, "clip_norm", "-1"},
      {"adam", {{"beta1", 1}}, "beta1", "1"},
      {"adam", {{"beta2", 1.5}}, "beta2", "1.5"},
      {"adamw", {{"beta1", -0.1}}, "beta1", "-0.1"},
      {"adam", {{"eps", 0}}, "eps", "0"},
      {"adamw", {{"l1", -0.25}}, "l1", "-0.25"},
      {"adamw", {{"weight_decay", -2}}, "weight_decay", "-2"},
      {"rmsprop", {{"alpha", 1.25}}, "alpha", "1.25"},
      {"rmsprop", {{"eps", -1e-8}}, "eps", "-1e-08"},
      {"rmsprop", {{"centered", 2}}, "centered", "2"},
      {"rmsprop", {{"lr", 0.1}, {"lr", 0.2}}, "lr", "twice"},
  };
  for (const Case& c : cases) {
    e = error_of(c.name, c.options);
    EXPECT_CONTAINS(e, c.name);
    EXPECT_CONTAINS(e, c.key);
    EXPECT_CONTAINS(e, c.value);
  }
}

}  // namespace
}  // namespace convkit::optim
