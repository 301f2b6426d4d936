// Augmenter: validation of AugmentOptions and the per-batch chain of transforms (see
// include/convkit/data/augment.h). Samples run in parallel (OpenMP); each has its own random
// streams and scratch, so the batch does not depend on the thread count.
#include <convkit/data/augment.h>

#include "data/transforms/affine.h"
#include "data/transforms/color.h"
#include "data/transforms/crop.h"
#include "data/transforms/cutout.h"
#include "data/transforms/elastic.h"
#include "data/transforms/flip.h"

#include <omp.h>

#include <cstring>

namespace convkit::data {

namespace {

template <typename... Args>
void check(bool ok, const char* key, fmt::format_string<Args...> format, Args&&... args) {
  if (!ok) fail("dataset.augment.{}: {}", key, fmt::format(format, std::forward<Args>(args)...));
}

void check_probability(float p, const char* key) {
  check(p >= 0 && p <= 1, key, "a probability must lie in [0, 1], got {}", p);
}

void check_range(Range r, const char* key, bool positive) {
  check(std::isfinite(r.lo) && std::isfinite(r.hi) && (positive ? r.lo > 0 : r.lo >= 0) &&
            r.lo <= r.hi,
        key, "the range [{}, {}] must satisfy {} <= hi", r.lo, r.hi,
        positive ? "0 < lo" : "0 <= lo");
}

}  // namespace

void validate(const AugmentOptions& o) {
  check(o.rotation >= 0 && o.rotation <= 180, "rotation", "must be in [0, 180] degrees, got {}",
        o.rotation);
  check(o.width_shift >= 0 && o.width_shift <= 1, "width_shift",
        "must be a fraction of the width in [0, 1], got {}", o.width_shift);
  check(o.height_shift >= 0 && o.height_shift <= 1, "height_shift",
        "must be a fraction of the height in [0, 1], got {}", o.height_shift);
  check(o.shear >= 0 && o.shear < 90, "shear", "must be in [0, 90) degrees, got {}", o.shear);
  check_range(o.zoom, "zoom", true);
  check(o.fill_value >= 0 && o.fill_value <= 255, "fill_value",
        "must be a pixel value in [0, 255], got {}", o.fill_value);
  check_probability(o.horizontal_flip, "horizontal_flip");
  check_probability(o.vertical_flip, "vertical_flip");
  check_range(o.brightness, "brightness", false);
  check(o.brightness.hi <= 100, "brightness", "factor {} is implausibly large", o.brightness.hi);
  check_range(o.contrast, "contrast", false);
  check(o.contrast.hi <= 100, "contrast", "factor {} is implausibly large", o.contrast.hi);
  check(o.crop_padding >= 0 && o.crop_padding <= 4096, "crop_padding",
        "must be in [0, 4096] pixels, got {}", o.crop_padding);
  check_range(o.cutout.size, "cutout.size", false);
  check(o.cutout.size.hi <= 65536, "cutout.size", "{} pixels is implausibly large",
        o.cutout.size.hi);
  check_probability(o.cutout.probability, "cutout.probability");
  check(o.cutout.fill_value >= 0 && o.cutout.fill_value <= 255, "cutout.fill_value",
        "must be a pixel value in [0, 255], got {}", o.cutout.fill_value);
  check(o.elastic.alpha >= 0 && std::isfinite(o.elastic.alpha), "elastic.alpha",
        "must be >= 0 pixels, got {}", o.elastic.alpha);
  check(o.elastic.sigma > 0 && o.elastic.sigma <= 1000, "elastic.sigma",
        "must be in (0, 1000] pixels, got {}", o.elastic.sigma);
  check_probability(o.elastic.probability, "elastic.probability");
  check(o.mixup >= 0 && std::isfinite(o.mixup), "mixup",
        "the Beta parameter alpha must be >= 0 (0: off), got {}", o.mixup);
  check(o.cutmix >= 0 && std::isfinite(o.cutmix), "cutmix",
        "the Beta parameter alpha must be >= 0 (0: off), got {}", o.cutmix);
  check(o.threads >= 0, "threads", "must be >= 0 (0: the OpenMP default), got {}", o.threads);
}

bool augments(const AugmentOptions& o) {
  return transforms::affine_enabled(o) || o.horizontal_flip > 0 || o.vertical_flip > 0 ||
         o.brightness.lo != 1 || o.brightness.hi != 1 || o.contrast.lo != 1 || o.contrast.hi != 1 ||
         o.crop_padding > 0 || (o.cutout.size.hi > 0 && o.cutout.probability > 0) ||
         (o.elastic.alpha > 0 && o.elastic.probability > 0);
}

struct Augmenter::State {
  AugmentOptions options;
  std::vector<float> mean, std;  // as given: 1 or C values
  std::uint64_t key_crop, key_affine, key_elastic, key_flip, key_color, key_cutout;
  std::vector<float> kernel;  // elastic Gaussian
  int channels = -1;          // C of the cached per-channel values below
  transforms::Normalization norm;
  std::vector<float> fill, cutout_fill;     // normalized, per channel
  std::vector<std::vector<float>> scratch;  // per OpenMP thread

  void prepare(int c);
  void sample(const transforms::Planes& image, float* scratch, std::uint64_t i,
              const std::uint64_t* keys) const;
};

void Augmenter::State::prepare(int c) {
  if (c == channels) return;
  for (const auto* v : {&mean, &std})
    if (v->size() != 1 && v->size() != std::size_t(c))
      fail("Augmenter: the normalization has {} values; a batch of {} channels needs 1 or {}",
           v->size(), c, c);
  norm = transforms::Normalization(mean, std, c);
  fill.resize(std::size_t(c));
  cutout_fill.resize(std::size_t(c));
  for (int k = 0; k < c; ++k) {
    fill[std::size_t(k)] = norm.to_normalized(k, options.fill_value);
    cutout_fill[std::size_t(k)] = norm.to_normalized(k, options.cutout.fill_value);
  }
  channels = c;
}

void Augmenter::State::sample(const transforms::Planes& image, float* buffer, std::uint64_t i,
                              const std::uint64_t* keys) const {
  using namespace transforms;
  const AugmentOptions& o = options;
  const int h = image.h, w = image.w;
  // Geometric steps write out of place and alternate between the sample and `buffer`.
  Planes cur = image, other{buffer, image.c, h, w};
  float* fields = buffer + image.c * image.plane();
  if (o.crop_padding > 0) {
    const SampleRng rng(keys[0], i);
    const int p = o.crop_padding;
    pad_crop(cur, other, p, rng.integer(0, 0, 2 * p), rng.integer(1, 0, 2 * p), o.fill_mode,
             fill.data());
    std::swap(cur, other);
  }
  if (affine_enabled(o)) {
    const AffineParams params = random_affine(o, SampleRng(keys[1], i), h, w);
    warp_affine(cur, other, keras_affine(params, h, w), o.fill_mode, fill.data());
    std::swap(cur, other);
  }
  if (o.elastic.alpha > 0) {
    const SampleRng rng(keys[2], i);
    if (rng.bernoulli(0, o.elastic.probability)) {
      float *dy = fields, *dx = fields + image.plane(), *tmp = fields + 2 * image.plane();
      random_displacements(rng, h, w, o.elastic.alpha, kernel, dy, dx, tmp);
      displace(cur, other, dy, dx, o.fill_mode, fill.data());
      std::swap(cur, other);
    }
  }
  if (cur.data != image.data)
    std::memcpy(image.data, cur.data, std::size_t(image.c * image.plane()) * sizeof(float));
  if (o.horizontal_flip > 0 || o.vertical_flip > 0) {
    const SampleRng rng(keys[3], i);
    if (rng.bernoulli(0, o.horizontal_flip)) flip_horizontal(image);
    if (rng.bernoulli(1, o.vertical_flip)) flip_vertical(image);
  }
  if (o.brightness.lo != 1 || o.brightness.hi != 1 || o.contrast.lo != 1 || o.contrast.hi != 1) {
    const SampleRng rng(keys[4], i);
    const float b = o.brightness.lo == o.brightness.hi
                        ? o.brightness.lo
                        : rng.uniform(0, o.brightness.lo, o.brightness.hi);
    const float c = o.contrast.lo == o.contrast.hi ? o.contrast.lo
                                                   : rng.uniform(1, o.contrast.lo, o.contrast.hi);
    if (b != 1 || c != 1) adjust_brightness_contrast(image, norm, b, c);
  }
  if (o.cutout.size.hi > 0) {
    const SampleRng rng(keys[5], i);
    if (rng.bernoulli(0, o.cutout.probability)) {
      const int side = rng.integer(1, int(o.cutout.size.lo), int(o.cutout.size.hi));
      const int cy = rng.integer(2, 0, h - 1), cx = rng.integer(3, 0, w - 1);
      erase_box(image, cy - side / 2, cx - side / 2, side, side, cutout_fill.data());
    }
  }
}

Augmenter::Augmenter(const AugmentOptions& options, std::uint64_t seed, std::span<const float> mean,
                     std::span<const float> std)
    : state_(std::make_unique<State>()) {
  validate(options);
  if (mean.empty() || std.empty()) fail("Augmenter: mean and std need at least one value");
  for (float s : std)
    if (!(std::isfinite(s) && s != 0.0f)) fail("Augmenter: std {} must be finite and nonzero", s);
  State& s = *state_;
  s.options = options;
  s.mean.assign(mean.begin(), mean.end());
  s.std.assign(std.begin(), std.end());
  s.key_crop = derive_key(seed, "data.augment.crop");
  s.key_affine = derive_key(seed, "data.augment.affine");
  s.key_elastic = derive_key(seed, "data.augment.elastic");
  s.key_flip = derive_key(seed, "data.augment.flip");
  s.key_color = derive_key(seed, "data.augment.color");
  s.key_cutout = derive_key(seed, "data.augment.cutout");
  if (options.elastic.alpha > 0) s.kernel = transforms::gaussian_kernel(options.elastic.sigma);
}

Augmenter::~Augmenter() = default;
Augmenter::Augmenter(Augmenter&&) noexcept = default;
Augmenter& Augmenter::operator=(Augmenter&&) noexcept = default;

const AugmentOptions& Augmenter::options() const {
  return state_->options;
}

void Augmenter::apply(const Tensor& batch, std::uint64_t epoch, std::uint64_t batch_index,
                      std::uint64_t first_row) {
  if (!batch.defined() || batch.dtype() != DType::f32 || batch.rank() != 4 ||
      !transforms::dense(batch))
    fail("Augmenter: expected a contiguous f32 batch [B, C, H, W], got {}",
         batch.defined() ? batch.shape().str() : "nothing");
  State& s = *state_;
  if (!augments(s.options)) return;
  const std::int64_t b = batch.dim(0), c = batch.dim(1), h = batch.dim(2), w = batch.dim(3);
  if (b == 0 || c * h * w == 0) return;
  s.prepare(int(c));
  // Scratch per thread: the geometric ping-pong image, then the elastic fields dy, dx and the
  // blur's scratch.
  const std::size_t need =
      std::size_t(c * h * w + (s.options.elastic.alpha > 0
                                   ? 2 * h * w + transforms::blur_scratch(int(h), int(w), s.kernel)
                                   : 0));
  const int threads = int(
      std::min<std::int64_t>(s.options.threads > 0 ? s.options.threads : omp_get_max_threads(), b));
  if (s.scratch.size() < std::size_t(threads)) s.scratch.resize(std::size_t(threads));
  for (int t = 0; t < threads; ++t)
    if (s.scratch[std::size_t(t)].size() < need) s.scratch[std::size_t(t)].resize(need);
  const std::uint64_t keys[6] = {transforms::batch_key(s.key_crop, epoch, batch_index),
                                 transforms::batch_key(s.key_affine, epoch, batch_index),
                                 transforms::batch_key(s.key_elastic, epoch, batch_index),
                                 transforms::batch_key(s.key_flip, epoch, batch_index),
                                 transforms::batch_key(s.key_color, epoch, batch_index),
                                 transforms::batch_key(s.key_cutout, epoch, batch_index)};
  float* data = batch.data<float>();
#pragma omp parallel for num_threads(threads) schedule(static) if (threads > 1)
  for (std::int64_t i = 0; i < b; ++i) {
    const transforms::Planes image{data + i * c * h * w, int(c), int(h), int(w)};
    s.sample(image, s.scratch[std::size_t(omp_get_thread_num())].data(),
             first_row + std::uint64_t(i), keys);
  }
}

BatchHook make_augmenter(const AugmentOptions& options, std::uint64_t seed,
                         std::span<const float> mean, std::span<const float> std) {
  auto augmenter = std::make_shared<Augmenter>(options, seed, mean, std);
  return [augmenter](Tensor& batch, std::uint64_t epoch, std::uint64_t batch_index,
                     std::uint64_t first_row) {
    augmenter->apply(batch, epoch, batch_index, first_row);
  };
}

}  // namespace convkit::data
