// Predictor at other input sizes: a model that ends in global pooling, built for 64 x 64,
// predicts images of 48, 64 and 120 px with one plan per shape (a repeated shape compiles
// nothing new), the 64 px result equals the model's own plan, and a model with Flatten before
// Dense names the layer that fixes its size.
#include <convkit/nn/layers.h>
#include <convkit/nn/model.h>
#include <convkit/train/predictor.h>

#include <gtest/gtest.h>

namespace convkit::train {
namespace {

nn::Model pooled(const Shape& input) {
  nn::Model m =
      nn::sequential(input, {nn::Conv2D{.filters = 4,
                                        .kernel = 3,
                                        .padding = nn::Padding::Same,
                                        .activation = nn::Activation::ReLU},
                             nn::MaxPool2D{}, nn::GlobalAvgPool2D{}, nn::Dense{.units = 3}});
  m.initialize(7);
  return m;
}

// A u8 image [3, h, w] with a smooth pattern.
Tensor image(std::int64_t h, std::int64_t w) {
  Tensor t = Tensor::empty({3, h, w}, DType::u8);
  for (std::int64_t i = 0; i < t.numel(); ++i)
    t.data<std::uint8_t>()[i] = std::uint8_t((i * 7 / (w + 1)) % 256);
  return t;
}

TEST(PredictorSizes, OnePlanPerShapeForAGlobalPoolingModel) {
  Predictor keep(pooled({3, 64, 64}), {.mean = {0.5f}, .std = {0.25f}}, {},
                 {.batch_size = 4, .keep_size = true});
  for (std::int64_t side : {48, 64, 120}) {
    const Tensor img = image(side, side);
    const Tensor p = keep.predict_images(std::span(&img, 1));
    ASSERT_EQ(p.shape(), (Shape{1, 3}));
    float sum = 0;
    for (int k = 0; k < 3; ++k) sum += p.data<float>()[k];
    EXPECT_NEAR(sum, 1.0f, 1e-5f);
  }
  EXPECT_EQ(keep.cached_plans(), 3u);
  const Tensor again = image(120, 120);
  keep.predict_images(std::span(&again, 1));
  const Tensor other = image(48, 48);
  keep.predict_images(std::span(&other, 1));
  EXPECT_EQ(keep.cached_plans(), 3u);  // repeated shapes reuse their plans
  const Tensor wide = image(48, 80);
  keep.predict_images(std::span(&wide, 1));
  EXPECT_EQ(keep.cached_plans(), 4u);

  // At the model's own size the result is the ordinary plan's.
  Predictor plain(pooled({3, 64, 64}), {.mean = {0.5f}, .std = {0.25f}}, {}, {.batch_size = 4});
  const Tensor img64 = image(64, 64);
  const Tensor a = keep.predict_images(std::span(&img64, 1));
  const Tensor b = plain.predict_images(std::span(&img64, 1));
  for (int k = 0; k < 3; ++k) EXPECT_FLOAT_EQ(a.data<float>()[k], b.data<float>()[k]);

  // Preprocessed batches of another size go the same way.
  Tensor batch = Tensor::zeros({5, 3, 40, 52});
  EXPECT_EQ(plain.predict(batch).shape(), (Shape{5, 3}));
}

TEST(PredictorSizes, AFixedSizeModelNamesTheLayer) {
  nn::Model m = nn::sequential({1, 12, 12}, {nn::Conv2D{.filters = 2, .kernel = 3}, nn::Flatten{},
                                             nn::Dense{.units = 3, .name = "head"}});
  m.initialize(1);
  Predictor p(std::move(m), {}, {}, {.batch_size = 2});
  try {
    p.predict(Tensor::zeros({1, 1, 20, 20}));
    ADD_FAILURE() << "a Flatten/Dense model ran at another size";
  } catch (const Error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("layer 'head' (Dense) takes one input size"), std::string::npos) << what;
  }
  EXPECT_EQ(p.predict(Tensor::zeros({1, 1, 12, 12})).shape(), (Shape{1, 3}));
}

TEST(PredictorSizes, GeometryPolicyMatchesTraining) {
  // center_crop: the middle of a wide image decides; with stretch the sides count too.
  Tensor wide = Tensor::zeros({3, 64, 192}, DType::u8);
  auto* px = wide.data<std::uint8_t>();
  for (std::int64_t k = 0; k < 3; ++k)
    for (std::int64_t y = 0; y < 64; ++y)
      for (std::int64_t x = 64; x < 128; ++x) px[(k * 64 + y) * 192 + x] = 200;
  Predictor crop(pooled({3, 32, 32}), {}, {},
                 {.geometry = data::Geometry{.resize = data::ResizePolicy::CenterCrop}});
  const Tensor prepared = crop.prepare(wide);
  ASSERT_EQ(prepared.shape(), (Shape{3, 32, 32}));
  EXPECT_FLOAT_EQ(prepared.data<float>()[0], 200.0f / 255.0f);  // the crop is all middle
  Predictor stretch(pooled({3, 32, 32}), {}, {});
  EXPECT_FLOAT_EQ(stretch.prepare(wide).data<float>()[0], 0.0f);
}

}  // namespace
}  // namespace convkit::train
