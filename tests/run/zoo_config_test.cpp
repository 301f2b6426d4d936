// Zoo models from YAML (`model: {zoo: resnet20, input: [...], classes: 10}`): the example config
// builds the network of nn/zoo.h, options and --set overrides reach it, param_groups see its
// layer names, mistakes are ConfigErrors naming the key, and a zoo model trains and checkpoints
// through run::train.
#include "run/run_test_util.h"

#include <convkit/run/config.h>
#include <convkit/run/errors.h>
#include <convkit/run/run_dir.h>
#include <convkit/run/train.h>

#include "support/test_util.h"

#include <cmath>

namespace convkit::run {
namespace {

using convkit::testing::expect_contains;

const char* kZooConfig = R"(
dataset: {name: cifar10}
model: {zoo: resnet20, input: [3, 32, 32], classes: 10}
)";

std::string config_error(const std::string& yaml, const std::vector<std::string>& sets = {}) {
  try {
    parse_run_config(yaml, "cfg.yaml", sets);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(ZooConfig, TheExampleBuildsResNet20) {
  const RunConfig c = load_run_config("examples/cifar10_resnet20.yaml", {});
  ASSERT_TRUE(c.zoo.has_value());
  EXPECT_EQ(c.zoo->name, "resnet20");
  EXPECT_TRUE(c.layers.empty());
  const nn::Model m = c.build_model();
  EXPECT_EQ(m.parameter_count(), 272'474);
  EXPECT_EQ(m.output_shape(), Shape({10}));
  // The resolved document (a run directory's config.yaml) builds the same model again.
  EXPECT_EQ(parse_run_config(c.resolved_yaml, "resolved").build_model().parameter_count(), 272'474);
}

TEST(ZooConfig, OptionsOverridesAndParamGroupsReachTheModel) {
  const RunConfig c = parse_run_config(
      std::string(kZooConfig) +
          "train: {param_groups: [{layers: \"layer1.*\", trainable: false}]}\n",
      "cfg.yaml", {"model.zoo=resnet18", "model.stem=cifar", "model.zero_init_residual=true"});
  const nn::Model m = c.build_model();
  EXPECT_EQ(m.parameter_count(), 11'173'962);  // resnet18, CIFAR stem, 10 classes
  EXPECT_FALSE(m.trainable("layer1.0.conv1"));
  EXPECT_TRUE(m.trainable("layer2.0.conv1"));
  EXPECT_EQ(c.zoo->stem, "cifar");
  EXPECT_TRUE(c.zoo->zero_init_residual);
  const RunConfig vgg = parse_run_config(kZooConfig, "cfg.yaml",
                                         {"model.zoo=vgg11_bn", "model.classifier=global_pool"});
  EXPECT_EQ(vgg.build_model().parameter_count(), 9'231'114);
}

TEST(ZooConfig, MistakesAreConfigErrorsNamingTheKey) {
  const std::string base = kZooConfig;
  const auto unknown = config_error(base, {"model.zoo=resnet21"});
  expect_contains(unknown, "--set model.zoo=resnet21: 'model.zoo': unknown zoo model 'resnet21'");
  expect_contains(unknown,
                  "(known: resnet18, resnet34, resnet20, resnet32, resnet44, resnet56, "
                  "vgg11_bn, vgg16_bn, mobilenet_v2, efficientnet_lite0)");
  expect_contains(config_error(base, {"model.stem=tiny"}),
                  "'model.stem': zoo model resnet20: option 'stem' must be cifar, got 'tiny'");
  expect_contains(config_error(base, {"model.zoo=vgg11_bn"}),
                  "'model.classifier': zoo model vgg11_bn: classifier 'imagenet' needs a 7x7");
  expect_contains(config_error(base, {"model.zoo=mobilenet_v2", "model.zero_init_residual=true"}),
                  "'model.zero_init_residual'");
  expect_contains(config_error(base, {"model.classes=0"}), "'model.classes'");
  expect_contains(config_error(base, {"model.input=[32, 32]"}),
                  "'model.input' must be [channels, height, width] for a zoo model");
  expect_contains(config_error("model: {zoo: resnet20, input: [3, 32, 32]}\n"),
                  "missing required key 'model.classes'");
  expect_contains(config_error(base, {"model.layers=[{type: flatten}]"}),
                  "'model.zoo' and 'model.layers' exclude each other");
  expect_contains(config_error(base, {"model.stemm=cifar"}), "stemm");
  // A layer model has no zoo keys.
  expect_contains(config_error(testing::kBarsConfig, {"model.stem=cifar"}), "model.stem");
}

TEST(ZooConfig, AZooModelTrainsChecksItsClassesAndCheckpoints) {
  testing::TempDir tmp;
  const char* yaml = R"(
dataset: {name: bars}
model: {zoo: resnet20, input: [1, 12, 12], classes: 4}
train: {epochs: 1, batch_size: 32, tensorboard: false, threads: 2}
)";
  TrainOptions options{.out = tmp.path / "run",
                       .data = testing::bars_data(),
                       .show_summary = false,
                       .progress = false,
                       .verbose = false,
                       .write_report = false};
  try {
    train(parse_run_config(yaml, "cfg.yaml", {"model.classes=10"}), options);
    ADD_FAILURE() << "trained with 10 classes on 4";
  } catch (const ConfigError& e) {
    expect_contains(e.what(), "bars has 4 classes: set 'model.classes' to 4");
  }
  const RunConfig config = parse_run_config(yaml, "cfg.yaml");
  const RunResult r = train(config, options);
  EXPECT_EQ(r.epoch, 1);
  EXPECT_TRUE(std::isfinite(r.history.epochs.back().loss));
  // The checkpoint's model spec holds the zoo network: names with dots, grouped convs and all.
  const auto opened = open_checkpoint(r.dir);
  EXPECT_EQ(opened.checkpoint.model.parameter_names(), config.build_model().parameter_names());
  EXPECT_EQ(opened.checkpoint.model.parameter_count(), 271'796);  // 1 channel in, 4 classes
}

}  // namespace
}  // namespace convkit::run
