// RunConfig loading through the library: defaults, --set overrides, strict keys and ranges
// (ConfigErrors naming the key), and the resolved YAML that a run directory keeps.
#include "run/run_test_util.h"

#include <convkit/run/config.h>
#include <convkit/run/errors.h>

namespace convkit::run {
namespace {

std::string config_error(const std::string& yaml, const std::vector<std::string>& sets = {}) {
  try {
    parse_run_config(yaml, "cfg.yaml", sets);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

TEST(RunConfigLoad, DefaultsOverridesAndTheResolvedDocument) {
  const RunConfig c = parse_run_config(testing::kBarsConfig, "cfg.yaml",
                                       {"train.epochs=5", "model.layers.0.filters=4"});
  EXPECT_EQ(c.epochs, 5);
  EXPECT_EQ(c.batch_size, 32);
  EXPECT_EQ(c.optimizer, "adam");
  EXPECT_EQ(c.input, Shape({1, 12, 12}));
  EXPECT_EQ(c.build_model().output_shape(), Shape({4}));
  const RunConfig again = parse_run_config(c.resolved_yaml, "resolved");
  EXPECT_EQ(again.epochs, 5);
  EXPECT_EQ(again.build_model().parameter_count(), c.build_model().parameter_count());
  const RunConfig builtin = load_run_config(std::nullopt, {});
  EXPECT_EQ(builtin.dataset, "mnist");
  EXPECT_EQ(builtin.input, Shape({1, 28, 28}));
}

TEST(RunConfigLoad, MistakesAreConfigErrorsNamingTheKey) {
  const std::string base = testing::kBarsConfig;
  EXPECT_NE(config_error(base + "  epochz: 3\n").find("epochz"), std::string::npos);
  EXPECT_NE(config_error(base, {"train.batch_size=0"}).find("train.batch_size"), std::string::npos);
  EXPECT_NE(config_error(base, {"train.optimizer.lr=-1"}).find("lr"), std::string::npos);
  EXPECT_NE(config_error(base, {"model.layers.0.filterz=3"}).find("filterz"), std::string::npos);
  EXPECT_NE(config_error(base, {"train.epochs"}).find("key=value"), std::string::npos);
  EXPECT_NE(config_error("model: [1, 2]\n").find("model"), std::string::npos);
  EXPECT_NE(config_error(base, {"train.test_tta=rotate"}).find("train.test_tta"),
            std::string::npos);
}

}  // namespace
}  // namespace convkit::run

namespace convkit::run {
namespace {

TEST(RunConfigLoad, ParamGroupsFreezeAndScaleLayersByNameOrGlob) {
  const std::string yaml = std::string(testing::kBarsConfig) +
                           "  param_groups:\n"
                           "    - {layers: \"conv*\", trainable: false}\n"
                           "    - {layers: dense, lr_multiplier: 0.1}\n";
  const RunConfig c = parse_run_config(yaml, "cfg.yaml");
  ASSERT_EQ(c.param_groups.size(), 2u);
  const nn::Model model = c.build_model();
  EXPECT_FALSE(model.trainable("conv2d"));
  EXPECT_TRUE(model.trainable("dense"));
  EXPECT_DOUBLE_EQ(model.lr_multiplier("dense"), 0.1);
  EXPECT_DOUBLE_EQ(model.lr_multiplier("conv2d"), 1.0);
  EXPECT_NE(config_error(yaml, {"train.param_groups.1.layers=nothing*"})
                .find("train.param_groups.1.layers"),
            std::string::npos);
  EXPECT_NE(config_error(yaml, {"train.param_groups.1.lr_multiplier=-1"}).find("lr_multiplier"),
            std::string::npos);
  EXPECT_NE(config_error(yaml, {"train.param_groups.0.frozen=true"}).find("frozen"),
            std::string::npos);
}

}  // namespace
}  // namespace convkit::run

namespace convkit::run {
namespace {

TEST(RunConfigLoad, KeysThatAreListsOrMappingsAreConfigErrors) {
  // Found by fuzz_config: YAML allows complex keys ("? [a, b]: 1"); they used to escape as
  // YAML::TypedBadConversion and terminate the program.
  const std::string base = testing::kBarsConfig;
  EXPECT_NE(
      config_error(base + "? [a, b]\n: 1\n").find("'config' has a key that is a list or a mapping"),
      std::string::npos);
  EXPECT_NE(config_error(base + "  ? {x: 1}\n  : 2\n").find("'train' has a key"),
            std::string::npos);
  std::string optimizer = base;
  optimizer.replace(optimizer.find("{type: adam, lr: 0.01}"), 22, "{type: adam, ? [lr]: 1}");
  EXPECT_NE(config_error(optimizer).find("'train.optimizer' has a key"), std::string::npos);
}

}  // namespace
}  // namespace convkit::run
