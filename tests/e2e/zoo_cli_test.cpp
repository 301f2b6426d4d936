// `convkit summary` on a zoo config (examples/cifar10_resnet20.yaml): the layer table of the
// network with its reference layer names and parameter count; a bad zoo option exits 2 naming
// the key.
#include <gtest/gtest.h>

#include "e2e/cli_run.h"

#include <array>
#include <cstdio>
#include <string>

namespace convkit {
namespace {

using testing::run_cli;
using Output = testing::CliOutput;

TEST(ZooCli, SummaryOfAZooConfig) {
  const Output r = run_cli("summary examples/cifar10_resnet20.yaml");
  ASSERT_EQ(r.code, 0) << r.output;
  for (const char* part :
       {"layer1.0.conv1 (Conv2D)", "layer2.0.downsample.0 (Conv2D)", "layer3.2.add (Add)",
        "[N, 64, 8, 8]", "fc (Dense)", "[N, 10]", "Total params: 272,474"})
    EXPECT_NE(r.output.find(part), std::string::npos) << part << " not in:\n" << r.output;
  const Output deeper = run_cli("summary examples/cifar10_resnet20.yaml --set model.zoo=resnet56");
  ASSERT_EQ(deeper.code, 0) << deeper.output;
  EXPECT_NE(deeper.output.find("Total params: 855,770"), std::string::npos) << deeper.output;
}

TEST(ZooCli, BadZooOptionsExitTwoNamingTheKey) {
  const Output r = run_cli("summary examples/cifar10_resnet20.yaml --set model.zoo=resnet21");
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_NE(r.output.find("'model.zoo': unknown zoo model 'resnet21' (known: resnet18"),
            std::string::npos)
      << r.output;
  const Output stem = run_cli("summary examples/cifar10_resnet20.yaml --set model.stem=imagenet");
  EXPECT_EQ(stem.code, 2) << stem.output;
  EXPECT_NE(stem.output.find("'model.stem'"), std::string::npos) << stem.output;
}

}  // namespace
}  // namespace convkit
