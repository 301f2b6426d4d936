// Augmentation preview grids (see augment_preview.h).
#include <convkit/run/augment_preview.h>

#include <convkit/io/png_writer.h>

#include <convkit/data/augment.h>
#include <convkit/run/datasets.h>
#include <convkit/run/errors.h>
#include <convkit/util/rng.h>

#include <algorithm>
#include <cmath>
#include <numeric>

namespace convkit::run {

AugmentPreview write_augment_preview(const RunConfig& cfg, const AugmentPreviewOptions& a,
                                     const std::filesystem::path& out_path) {
  const data::AugmentOptions& options = cfg.augment;
  const std::uint64_t seed = a.seed.value_or(cfg.seed);
  DataRequest request = data_request(cfg, a.data_dir);
  request.train_samples = 0;
  LoadedData loaded = load_data(request);
  if (loaded.train_stream) {  // decode only the shown samples
    std::vector<std::int64_t> pick;
    data::random_permutation(loaded.train_stream->size(), derive_key(seed, "augment-preview"),
                             pick);
    pick.resize(std::size_t(std::min<std::int64_t>(a.samples, loaded.train_stream->size())));
    loaded.train = as_data_error([&] {
      return data::to_dataset(data::SubsetSource(loaded.train_stream, pick), loaded.geometry);
    });
  }
  const data::Dataset& train = loaded.train;
  const std::int64_t rows = std::min<std::int64_t>(a.samples, train.size()), k = a.versions;
  const std::int64_t c = train.channels(), h = train.height(), w = train.width(), chw = c * h * w;

  // The shown samples: a seeded random choice. Batch row r * k + j is version j of sample r.
  std::vector<std::int64_t> order;
  data::random_permutation(train.size(), derive_key(seed, "augment-preview"), order);
  Tensor copies = Tensor::empty({rows * k, c, h, w}, DType::u8);
  const auto* src = static_cast<const std::uint8_t*>(train.images.raw());
  auto* dst = static_cast<std::uint8_t*>(copies.raw());
  for (std::int64_t i = 0; i < rows * k; ++i)
    std::copy_n(src + order[std::size_t(i / k)] * chw, chw, dst + i * chw);
  Tensor batch = Tensor::empty(copies.shape(), DType::f32);
  loaded.preprocess.apply(copies, batch);
  data::Augmenter(options, seed, loaded.preprocess.mean, loaded.preprocess.std).apply(batch, 0, 0);
  data::Mixer mixer(options, seed);
  std::vector<int> partner(std::size_t(rows * k));
  std::vector<float> lambda(partner.size());
  mixer.apply(batch, 0, 0, partner, lambda);

  // Tiles: column 0 the original pixels, columns 1..k the augmented ones mapped back to pixels.
  Tensor tiles = Tensor::empty({rows * (k + 1), c, h, w}, DType::u8);
  auto* t = static_cast<std::uint8_t*>(tiles.raw());
  const float* x = batch.data<float>();
  const auto& mean = loaded.preprocess.mean;
  const auto& stdev = loaded.preprocess.std;
  for (std::int64_t r = 0; r < rows; ++r) {
    std::copy_n(src + order[std::size_t(r)] * chw, chw, t + r * (k + 1) * chw);
    for (std::int64_t j = 0; j < k; ++j)
      for (std::int64_t ch = 0; ch < c; ++ch) {
        const float m = mean[mean.size() == 1 ? 0 : std::size_t(ch)],
                    s = stdev[stdev.size() == 1 ? 0 : std::size_t(ch)];
        const float* in = x + ((r * k + j) * c + ch) * h * w;
        std::uint8_t* out = t + ((r * (k + 1) + 1 + j) * c + ch) * h * w;
        for (std::int64_t i = 0; i < h * w; ++i)
          out[i] = std::uint8_t(std::clamp(std::lround((in[i] * s + m) * 255.0f), 0L, 255L));
      }
  }
  const std::int64_t zoom = std::max<std::int64_t>(1, 112 / std::max(h, w));
  Tensor big = Tensor::empty({tiles.dim(0), c, h * zoom, w * zoom}, DType::u8);
  data::resize(tiles, big, data::Interpolation::Nearest);
  std::vector<std::int64_t> all(std::size_t(big.dim(0)));
  std::iota(all.begin(), all.end(), 0);
  const Tensor grid =
      io::image_grid(big, all, {.columns = int(k + 1), .padding = 4, .background = 96});
  io::write_png(out_path, grid);
  return {
      .rows = rows, .versions = k, .width = w, .height = h, .zoom = zoom, .mixed = mixer.enabled()};
}

}  // namespace convkit::run
