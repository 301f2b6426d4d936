// train::Predictor: inference plans cached per batch size, the same probabilities from tensors,
// decoded images, encoded PNG bytes and datasets, a borrowed model's weight changes seen, and
// clear errors for inputs of the wrong shape.
#include <convkit/io/png_writer.h>
#include <convkit/nn/layers.h>
#include <convkit/train/predictor.h>
#include <convkit/util/rng.h>

#include <gtest/gtest.h>

namespace convkit::train {
namespace {

nn::Model small_model() {
  auto model = nn::sequential(
      {1, 8, 8}, {nn::Conv2D{.filters = 4, .kernel = 3, .activation = nn::Activation::ReLU},
                  nn::Flatten{}, nn::Dense{.units = 3}});
  model.initialize(7);
  return model;
}

data::Dataset random_images(std::int64_t n) {
  data::Dataset d{.images = Tensor::empty({n, 1, 8, 8}, DType::u8),
                  .labels = Tensor::zeros({n}, DType::i32),
                  .num_classes = 3,
                  .class_names = {"a", "b", "c"}};
  for (std::int64_t i = 0; i < d.images.numel(); ++i)
    d.images.data<std::uint8_t>()[i] = std::uint8_t(philox(3, std::uint64_t(i))[0]);
  for (std::int64_t i = 0; i < n; ++i) d.labels.data<std::int32_t>()[i] = std::int32_t(i % 3);
  return d;
}

const Preprocess kPre{.mean = {0.5f}, .std = {0.25f}};

TEST(Predictor, TensorsImagesBytesAndDatasetsGiveTheSameProbabilities) {
  Predictor predictor(small_model(), kPre, {"a", "b", "c"}, {.batch_size = 4});
  const data::Dataset d = random_images(10);
  const Tensor from_dataset = predictor.predict(d);  // batches of 4, 4, 2 (padded)
  ASSERT_EQ(from_dataset.shape(), Shape({10, 3}));
  Tensor inputs = Tensor::empty({10, 1, 8, 8});
  kPre.apply(d.images, inputs);
  const Tensor from_tensor = predictor.predict(inputs);
  EXPECT_EQ(max_abs_diff(from_dataset, from_tensor), 0.0f);
  for (std::int64_t i = 0; i < 10; ++i) {
    float sum = 0;
    for (int c = 0; c < 3; ++c) sum += from_tensor.data<float>()[i * 3 + c];
    EXPECT_NEAR(sum, 1.0f, 1e-6f);
  }
  // Image 3 decoded (already the model's size) and as PNG bytes.
  const Tensor image = d.images.slice(3, 4).reshape({1, 8, 8});
  const Tensor one = predictor.predict_images(std::span(&image, 1));
  const std::string png = io::encode_png(image);
  const Tensor from_bytes =
      predictor.predict_encoded(std::as_bytes(std::span(png.data(), png.size())), "digit.png");
  for (int c = 0; c < 3; ++c) {
    // A batch-1 plan may run other kernels than the batch-4 one (rounding differs).
    EXPECT_NEAR(one.data<float>()[c], from_tensor.data<float>()[3 * 3 + c], 1e-6f);
    EXPECT_EQ(from_bytes.data<float>()[c], one.data<float>()[c]);
  }
  // Plans: batch 4 (dataset and the 10 tensors) and batch 1 (single images), compiled once each.
  EXPECT_EQ(predictor.cached_plans(), 2u);
  predictor.predict(inputs);
  EXPECT_EQ(predictor.cached_plans(), 2u);
  const auto top = top_k(one, 0, 2, predictor.class_names());
  ASSERT_EQ(top.size(), 2u);
  EXPECT_GE(top[0].probability, top[1].probability);
  EXPECT_EQ(top[0].label, predictor.class_names()[std::size_t(top[0].index)]);
}

TEST(Predictor, ImagesOfAnotherSizeOrColourAreFittedToTheModel) {
  Predictor predictor(small_model(), kPre);
  Tensor rgb = Tensor::empty({3, 20, 16}, DType::u8);
  for (std::int64_t i = 0; i < rgb.numel(); ++i) rgb.data<std::uint8_t>()[i] = std::uint8_t(i * 7);
  EXPECT_EQ(predictor.prepare(rgb).shape(), Shape({1, 8, 8}));
  EXPECT_EQ(predictor.predict_images(std::span(&rgb, 1)).shape(), Shape({1, 3}));
}

TEST(Predictor, ABorrowedModelsWeightChangesAreSeen) {
  nn::Model model = small_model();
  Predictor predictor = Predictor::borrowing(model, kPre);
  const Tensor inputs = Tensor::full({2, 1, 8, 8}, 0.5f);
  const Tensor before = predictor.predict(inputs).clone();
  model.parameter("dense.bias").data<float>()[0] += 5.0f;
  const Tensor after = predictor.predict(inputs);
  EXPECT_GT(after.data<float>()[0], before.data<float>()[0]);
}

TEST(Predictor, WrongInputsAreErrorsNamingTheShapes) {
  Predictor predictor(small_model(), kPre);
  try {
    predictor.predict(Tensor::zeros({2, 1, 9, 8}));
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("[1, 8, 8]"), std::string::npos) << e.what();
  }
  const std::string garbage = "not an image";
  EXPECT_THROW(predictor.predict_encoded(std::as_bytes(std::span(garbage.data(), garbage.size()))),
               Error);
  EXPECT_THROW(Predictor(small_model(), {.mean = {0.1f, 0.2f}, .std = {0.3f}}), Error);
}

}  // namespace
}  // namespace convkit::train
