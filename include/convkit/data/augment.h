// Data augmentation and image transforms. Random transforms work on a normalized f32 batch
// [B, C, H, W] (B = batch, C = channels, H = height, W = width), the Loader's batches, in place.
// Every random choice is a pure function of (seed, epoch, batch index, sample index within the
// batch) drawn from Philox streams, one stream per transform, so a batch is identical for any
// OpenMP thread count, and switching one transform on or off leaves the draws of the others
// unchanged. The deterministic transforms (resize, channel replication, normalize) prepare
// datasets before they reach the Loader.
//
//   AugmentOptions aug{.rotation = 10, .width_shift = 0.1, .height_shift = 0.1, .zoom =
//   {0.9, 1.1}}; loader_options.augment = make_augmenter(aug, seed, {0.1307f}, {0.3081f}); Mixer
//   mixer(aug, seed);  // mixup / cutmix need the labels: the trainer calls it per batch
#pragma once

#include <convkit/data/loader.h>
#include <convkit/data/transform_types.h>
#include <convkit/tensor/tensor.h>

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

namespace convkit::data {

// How samples that fall outside the image are filled (OpenCV's border names in parentheses):
// Constant: the fill value (BORDER_CONSTANT); Nearest: the closest edge pixel
// (BORDER_REPLICATE, aaa|abcd|ddd); Reflect: mirrored with the edge repeated (BORDER_REFLECT,
// cba|abcd|dcb). These are Keras' "constant", "nearest" and "reflect".
enum class FillMode { Constant, Nearest, Reflect };

// Cutout (DeVries & Taylor 2017) / random erasing: a square of side uniform in [size.lo,
// size.hi] pixels (integers), centered uniformly anywhere on the image (it may be clipped at the
// borders), filled with `fill_value` (pixel units 0..255), applied with `probability`.
struct CutoutOptions {
  Range size;  // pixels; {0, 0}: off
  float probability = 1;
  float fill_value = 0;
};

// Elastic distortion (Simard, Steinkraus & Platt 2003): per-pixel displacements drawn uniform in
// [-1, 1], smoothed by a Gaussian of std `sigma` pixels (truncated at 4 sigma, reflected at the
// borders) and scaled by `alpha` pixels; the image is resampled bilinearly there.
struct ElasticOptions {
  float alpha = 0;  // 0: off (Simard used alpha 34, sigma 4 on MNIST)
  float sigma = 4;
  float probability = 1;
};

// All transforms, each off by default. The random affine follows Keras' ImageDataGenerator:
// angle uniform in [-rotation, rotation] degrees, shifts uniform in [-shift, shift] times the
// image side, shear angle uniform in [-shear, shear] degrees, zoom factors for rows and columns
// drawn independently from [zoom.lo, zoom.hi] (a factor above 1 shows more of the scene, i.e.
// shrinks the content, as in Keras); one bilinear resampling about the image center.
// Order of application: crop with padding, affine, elastic, flips, brightness and contrast,
// cutout. Mixup and cutmix are applied separately by Mixer (they need the labels).
struct AugmentOptions {
  float rotation = 0;                      // degrees, in [0, 180]
  float width_shift = 0;                   // fraction of W, in [0, 1]
  float height_shift = 0;                  // fraction of H, in [0, 1]
  float shear = 0;                         // degrees, in [0, 90)
  Range zoom{1, 1};                        // 0 < lo <= hi
  FillMode fill_mode = FillMode::Nearest;  // for affine, elastic and crop padding
  float fill_value = 0;                    // pixel units 0..255, for FillMode::Constant
  float horizontal_flip = 0;               // probability
  float vertical_flip = 0;                 // probability
  // Photometric jitter in pixel space (as torchvision's ColorJitter): brightness multiplies the
  // pixels by a factor from the range; contrast blends with the sample's mean grey level
  // (BT.601 luma for 3 channels): p' = f * p + (1 - f) * mean. Results are clamped to [0, 255].
  Range brightness{1, 1};
  Range contrast{1, 1};
  int crop_padding = 0;  // pad by P pixels (fill_mode), crop back at a random offset
  CutoutOptions cutout;
  ElasticOptions elastic;
  float mixup = 0;   // Beta(alpha, alpha) parameter; 0: off (Mixer only)
  float cutmix = 0;  // Beta(alpha, alpha) parameter; 0: off (Mixer only)
  int threads = 0;   // OpenMP threads per batch; 0: the OpenMP default
};

// Throws Error naming the offending key ("dataset.augment.zoom: ...") for any value outside the
// ranges documented above.
void validate(const AugmentOptions& options);

// Whether any transform of the Loader hook (everything except mixup and cutmix) is on.
bool augments(const AugmentOptions& options);

// Applies the enabled transforms (except mixup/cutmix) to normalized batches. `mean` and `std`
// are the Loader's normalization (one value, or one per channel): normalized = (p / 255 - mean)
// / std. Buffers are allocated on the first batch of a given size and reused afterwards.
class Augmenter {
 public:
  Augmenter(const AugmentOptions& options, std::uint64_t seed, std::span<const float> mean,
            std::span<const float> std);
  ~Augmenter();
  Augmenter(Augmenter&&) noexcept;
  Augmenter& operator=(Augmenter&&) noexcept;

  // batch: contiguous f32 [B, C, H, W], changed in place.
  // first_row: the global position of row 0 (a data-parallel shard's offset in the global batch):
  // row i draws as sample first_row + i of batch batch_index.
  void apply(const Tensor& batch, std::uint64_t epoch, std::uint64_t batch_index,
             std::uint64_t first_row = 0);
  const AugmentOptions& options() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

// The Loader's augment hook running an Augmenter (validated first). Copies of the hook share
// one Augmenter and its scratch: give each Loader its own hook (a Loader calls it from one
// thread at a time). Augmenter and Mixer are likewise not for concurrent use.
BatchHook make_augmenter(const AugmentOptions& options, std::uint64_t seed,
                         std::span<const float> mean, std::span<const float> std);

// Mixup (Zhang et al. 2018) and CutMix (Yun et al. 2019) within a batch: sample i is mixed with
// sample partner[i] (a random permutation of the batch) with weight lambda[i] for itself:
// mixup: x_i = lambda * x_i + (1 - lambda) * x_partner, lambda ~ Beta(a, a) per sample; cutmix:
// a box of area (1 - lambda) H W is pasted from the partner, and lambda is then corrected to the
// exact fraction of the sample's own pixels kept. With both on, each sample picks one of the two
// with probability 1/2. Draws depend on (seed, epoch, batch index, sample) only.
class Mixer {
 public:
  Mixer(const AugmentOptions& options, std::uint64_t seed);
  bool enabled() const { return mixup_ > 0 || cutmix_ > 0; }
  // batch: contiguous f32 [B, C, H, W], mixed in place; partner and lambda: B entries each
  // (identity and 1 when the mixer is off).
  void apply(const Tensor& batch, std::uint64_t epoch, std::uint64_t batch_index,
             std::span<int> partner, std::span<float> lambda);

 private:
  float mixup_, cutmix_;
  std::uint64_t seed_;
  int threads_;
  std::vector<float> copy_;  // the unmixed batch
  std::vector<std::int64_t> permutation_;
};

// Soft targets: soft[i] = lambda[i] * onehot(labels[i]) + (1 - lambda[i]) *
// onehot(labels[partner[i]]). labels_i32 [B]; soft_f32 [B, num_classes], written (every row sums to
// 1).
void mix_targets(const Tensor& labels_i32, std::span<const int> partner,
                 std::span<const float> lambda, int num_classes, const Tensor& soft_f32);

// Resampling (Interpolation: transform_types.h). src [N, C, H, W] or [C, H, W]; dst: the same
// rank, dtype, N and C, any H' and W' (the output
// size). u8 or f32; u8 results are rounded and saturated to [0, 255].
void resize(const Tensor& src, const Tensor& dst, Interpolation mode);

// Grey to RGB: dst[:, k] = src[:, 0] for k < 3. src [N, 1, H, W], dst [N, 3, H, W], u8 or f32.
void replicate_channels(const Tensor& src, const Tensor& dst);

// The normalized value of every pixel value per channel: table[c * 256 + p] = (p / 255 -
// mean[c]) / std[c] (mean and std: 1 or `channels` values; std finite and nonzero, else Error).
// The one definition of input normalization: the Loader, normalize() and train::Preprocess use it.
std::vector<float> normalization_table(std::int64_t channels, std::span<const float> mean,
                                       std::span<const float> std);

// u8 [N, C, H, W] pixels -> f32 (p / 255 - mean[c]) / std[c] (mean and std: 1 or C values),
// the Loader's normalization.
void normalize(const Tensor& src_u8, const Tensor& dst_f32, std::span<const float> mean,
               std::span<const float> std);

}  // namespace convkit::data
