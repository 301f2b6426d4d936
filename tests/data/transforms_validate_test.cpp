// Invalid augmentation settings are rejected with an Error naming the config key
// (dataset.augment.<key>), before any batch is touched.
#include <convkit/data/augment.h>

#include <gtest/gtest.h>

#include <functional>
#include <string>

namespace convkit::data {
namespace {

// The message of the Error thrown by validate(o), or "" when none is.
std::string rejection(const AugmentOptions& o) {
  try {
    validate(o);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

void expect_rejected(const AugmentOptions& o, const std::string& key) {
  const std::string message = rejection(o);
  EXPECT_NE(message.find("dataset.augment." + key + ":"), std::string::npos)
      << "expected a message naming dataset.augment." << key << ", got '" << message << "'";
}

TEST(AugmentValidateTest, DefaultsAndSensibleSettingsPass) {
  EXPECT_EQ(rejection({}), "");
  EXPECT_EQ(rejection({.rotation = 15,
                       .width_shift = 0.1f,
                       .height_shift = 0.1f,
                       .shear = 10,
                       .zoom = {0.9f, 1.1f},
                       .fill_mode = FillMode::Constant,
                       .fill_value = 255,
                       .horizontal_flip = 0.5f,
                       .brightness = {0.8f, 1.2f},
                       .contrast = {0, 2},
                       .crop_padding = 4,
                       .cutout = {.size = {4, 8}, .probability = 0.5f},
                       .elastic = {.alpha = 34, .sigma = 4},
                       .mixup = 0.2f,
                       .cutmix = 1}),
            "");
}

TEST(AugmentValidateTest, EachBadValueNamesItsKey) {
  expect_rejected({.rotation = -1}, "rotation");
  expect_rejected({.rotation = 200}, "rotation");
  expect_rejected({.width_shift = -0.1f}, "width_shift");
  expect_rejected({.height_shift = 1.5f}, "height_shift");
  expect_rejected({.shear = 90}, "shear");
  expect_rejected({.zoom = {-0.2f, 1.2f}}, "zoom");  // negative zoom
  expect_rejected({.zoom = {0, 1.2f}}, "zoom");
  expect_rejected({.zoom = {1.2f, 0.9f}}, "zoom");  // lo > hi
  expect_rejected({.fill_value = 256}, "fill_value");
  expect_rejected({.horizontal_flip = 1.5f}, "horizontal_flip");
  expect_rejected({.vertical_flip = -0.5f}, "vertical_flip");
  expect_rejected({.brightness = {-0.5f, 1}}, "brightness");
  expect_rejected({.contrast = {1.5f, 0.5f}}, "contrast");
  expect_rejected({.crop_padding = -2}, "crop_padding");
  expect_rejected({.cutout = {.size = {8, 4}}}, "cutout.size");
  expect_rejected({.cutout = {.size = {4, 4}, .probability = 2}}, "cutout.probability");
  expect_rejected({.cutout = {.size = {4, 4}, .fill_value = -1}}, "cutout.fill_value");
  expect_rejected({.elastic = {.alpha = -1}}, "elastic.alpha");
  expect_rejected({.elastic = {.alpha = 30, .sigma = 0}}, "elastic.sigma");
  expect_rejected({.elastic = {.alpha = 30, .sigma = -3}}, "elastic.sigma");
  expect_rejected({.elastic = {.alpha = 30, .probability = 1.01f}}, "elastic.probability");
  expect_rejected({.mixup = -0.2f}, "mixup");
  expect_rejected({.cutmix = -1}, "cutmix");
  expect_rejected({.threads = -1}, "threads");
  const float nan = std::numeric_limits<float>::quiet_NaN();
  expect_rejected({.rotation = nan}, "rotation");
  expect_rejected({.zoom = {0.9f, nan}}, "zoom");
  expect_rejected({.elastic = {.alpha = 3, .sigma = nan}}, "elastic.sigma");
}

TEST(AugmentValidateTest, ConstructorsValidate) {
  const std::vector<float> one{0.5f}, zero{0.0f};
  EXPECT_THROW(Augmenter({.zoom = {-1, 1}}, 1, one, one), Error);
  EXPECT_THROW(make_augmenter({.shear = 95}, 1, one, one), Error);
  EXPECT_THROW(Mixer({.mixup = -1}, 1), Error);
  EXPECT_THROW(Augmenter({.rotation = 5}, 1, one, zero), Error);  // std 0
  // A normalization with 2 values cannot serve a 3-channel batch.
  Augmenter two({.rotation = 5}, 1, std::vector<float>{0.1f, 0.2f}, std::vector<float>{1, 1});
  Tensor batch = Tensor::zeros({2, 3, 4, 4});
  EXPECT_THROW(two.apply(batch, 0, 0), Error);
  Tensor wrong_rank = Tensor::zeros({3, 4, 4});
  EXPECT_THROW(Augmenter({.rotation = 5}, 1, one, one).apply(wrong_rank, 0, 0), Error);
}

}  // namespace
}  // namespace convkit::data
