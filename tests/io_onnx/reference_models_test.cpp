// The shared ImageNet models imported into convkit graphs reproduce their reference outputs on
// testdata/fish.csv: SqueezeNet 1.1 (opset 7, fp16 weights widened) top-1 "tench" with p within
// 1e-3 of 0.7378; EfficientNet-Lite0 from both exporters (opset 20 folded BN, asymmetric pads,
// Clip bounds as inputs, ReduceMean axes input; opset 9 with BatchNormalization, Pad nodes and
// the Shape->Gather->Unsqueeze->Concat->Reshape flatten) within 1e-3 of onnxruntime's logits.
#include "io_onnx/onnx_test_util.h"

#include <convkit/io/onnx.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

namespace convkit {
namespace {

std::vector<float> run(const nn::Model& model, const Tensor& x, bool fuse = true) {
  auto plan = model.compile_inference({.batch = 1, .fuse = fuse});
  plan.input().copy_from(x);
  plan.forward();
  const Tensor y = plan.output();
  return {y.data<float>(), y.data<float>() + y.numel()};
}

#define REQUIRE_MODEL(file)                                   \
  if (!std::filesystem::exists(test::shared_models() / file)) \
  GTEST_SKIP() << (test::shared_models() / file).string()     \
               << " not found (set CONVKIT_TEST_MODELS to the shared models folder)"

TEST(OnnxReference, SqueezeNetFp16SaysTench) {
  REQUIRE_MODEL("SqueezeNet_fp16.onnx");
  auto g = io::import_onnx_graph((test::shared_models() / "SqueezeNet_fp16.onnx").string());
  EXPECT_EQ(g.info.opset, 7);
  EXPECT_EQ(g.info.input_shape, Shape({3, 224, 224}));
  nn::Model model = io::import_onnx((test::shared_models() / "SqueezeNet_fp16.onnx").string());
  EXPECT_EQ(model.parameter_count(), 1235496);
  const auto p = run(model, test::fish_input(false));
  ASSERT_EQ(p.size(), 1000u);
  const auto top = std::max_element(p.begin(), p.end()) - p.begin();
  EXPECT_EQ(top, 0);  // n01440764 tench
  EXPECT_NEAR(p[0], 0.7378, 1e-3);
  const auto ref = test::read_numbers(
      test::shared_models() / "testdata" / "Squeezenet_fp16_fish_input_CPU.csv", true);
  ASSERT_EQ(ref.size(), 1000u);
  double worst = 0;
  for (std::size_t k = 0; k < 1000; ++k) worst = std::max(worst, double(std::abs(p[k] - ref[k])));
  EXPECT_LT(worst, 2e-3);  // the reference ran in fp16
  std::printf("SqueezeNet: p(tench) = %.5f, max |p - WinML fp16 reference| = %.2e\n", p[0], worst);
}

void check_lite0(const std::string& file) {
  const auto ref = test::read_numbers(
      test::shared_models() / "testdata" / "efficientnet_lite0_fish_logits.csv", false);
  ASSERT_EQ(ref.size(), 1000u);
  nn::Model model = io::import_onnx((test::shared_models() / file).string(),
                                    {.input_shape = Shape({3, 224, 224})});
  for (bool fuse : {true, false}) {
    const auto y = run(model, test::fish_input(true), fuse);
    ASSERT_EQ(y.size(), 1000u);
    double worst = 0;
    for (std::size_t k = 0; k < 1000; ++k) worst = std::max(worst, double(std::abs(y[k] - ref[k])));
    EXPECT_LT(worst, 1e-3) << file << (fuse ? " (fused)" : " (unfused)");
    EXPECT_EQ(std::max_element(y.begin(), y.end()) - y.begin(), 0);
    std::printf("%s%s: max |logit - onnxruntime| = %.2e\n", file.c_str(), fuse ? "" : " (unfused)",
                worst);
  }
}

TEST(OnnxReference, EfficientNetLite0Opset20MatchesOnnxruntime) {
  REQUIRE_MODEL("efficientnet_lite0.onnx");
  check_lite0("efficientnet_lite0.onnx");
}

TEST(OnnxReference, EfficientNetLite0Opset9WithBatchNormMatchesOnnxruntime) {
  REQUIRE_MODEL("efficientnet_lite0_bn_opset9.onnx");
  check_lite0("efficientnet_lite0_bn_opset9.onnx");
  nn::Model model =
      io::import_onnx((test::shared_models() / "efficientnet_lite0_bn_opset9.onnx").string());
  EXPECT_EQ(model.parameter_count(), 4652008);
}

}  // namespace
}  // namespace convkit
