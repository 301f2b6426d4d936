// Geometry: how a decoded image of any size becomes a sample of the training size u8 [C, H, W]
// (C = channels, H = height, W = width). Deterministic policies (for evaluation, prediction and
// the decoded cache):
//   Stretch    resize to H x W, ignoring the aspect ratio (Keras' image_dataset_from_directory)
//   CenterCrop resize the shorter side to size / crop_fraction, keep the aspect ratio, and cut the
//              centre H x W (torchvision's Resize(256) + CenterCrop(224) is crop_fraction 0.875)
//   Letterbox  resize to fit inside H x W keeping the aspect ratio, pad the rest with `fill`
// and, for training only, RandomResizedCrop (Szegedy et al. 2015, torchvision's defaults): a box
// of area scale x the image's and aspect ratio exp(uniform(log ratio)) at a random place (10
// tries, then the centre crop of the closest ratio), resized to H x W. Its draws depend on (seed,
// epoch, sample index) only, so any number of loader workers gives the same samples.
// Channels: grey -> RGB replicates, RGB -> grey uses ITU-R BT.601 luma (after resizing).
#pragma once

#include <convkit/data/transform_types.h>
#include <convkit/tensor/tensor.h>

#include <cstdint>
#include <string>
#include <vector>

namespace convkit::data {

enum class ResizePolicy { Stretch, CenterCrop, Letterbox };

struct RandomResizedCropOptions {
  bool enabled = false;
  Range scale{0.08f, 1.0f};               // fraction of the image's area
  Range ratio{3.0f / 4.0f, 4.0f / 3.0f};  // width / height
};

struct Geometry {
  std::int64_t channels = 0, height = 0, width = 0;  // the sample's shape [C, H, W]
  ResizePolicy resize = ResizePolicy::Stretch;
  Interpolation interpolation = Interpolation::Bilinear;
  float crop_fraction = 1.0f;            // CenterCrop: the crop's share of the resized shorter side
  std::uint8_t fill = 0;                 // Letterbox padding, pixel units
  RandomResizedCropOptions random_crop;  // training samples only

  Shape shape() const { return {channels, height, width}; }
};

// Throws Error naming `key` ("dataset.resize...") for a shape or option out of range.
void validate(const Geometry& geometry, const std::string& key = "geometry");

// Names used in configs: "stretch", "center_crop", "letterbox"; "nearest", "bilinear",
// "bicubic", "area". Unknown names are Errors listing the known ones.
ResizePolicy parse_resize_policy(const std::string& name);
Interpolation parse_interpolation(const std::string& name);

// Per-thread scratch of prepare_image (reused between calls; no allocation once warm).
struct GeometryScratch {
  Tensor crop, resized;
};

// Writes `image` (u8 [C', H', W'], any size, C' = 1 or 3) into `out` (u8 [C, H, W] of
// `geometry`). With `train` and random_crop enabled, the crop is drawn from (seed, epoch, index).
void prepare_image(const Tensor& image, const Geometry& geometry, const Tensor& out,
                   GeometryScratch& scratch, bool train = false, std::uint64_t seed = 0,
                   std::uint64_t epoch = 0, std::uint64_t index = 0);

// The integer box {top, left, height, width} RandomResizedCrop takes from an h x w image for
// (seed, epoch, index): exposed for tests.
struct CropBox {
  std::int64_t top = 0, left = 0, height = 0, width = 0;
};
CropBox random_resized_crop_box(std::int64_t h, std::int64_t w,
                                const RandomResizedCropOptions& options, std::uint64_t seed,
                                std::uint64_t epoch, std::uint64_t index);

}  // namespace convkit::data
