// `convkit augment-preview --config FILE --data DIR --out grid.png`: a PNG grid showing what the
// config's dataset.augment section does. Each row is one training sample: first the original,
// then K augmented versions (the same transforms the Loader hook applies, then mixup/cutmix
// within the shown batch when the config enables them). Small images are enlarged (nearest).
#include "augment_config.h"
#include "commands.h"
#include "config.h"
#include "datasets.h"

#include "io/png_writer.h"

#include <convkit/data/augment.h>
#include <convkit/util/rng.h>

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <numeric>

namespace convkit::app {

namespace {

struct PreviewArgs {
  std::string config, data_dir, out;
  std::vector<std::string> sets;
  int samples = 8, versions = 7;
  std::optional<std::uint64_t> seed;
};

int run_augment_preview(const PreviewArgs& a) {
  RunConfig cfg = load_run_config(a.config, a.sets);
  const YAML::Node doc = cfg.resolved;
  YamlSection section(doc["dataset"] ? doc["dataset"]["augment"] : YAML::Node(), "dataset.augment");
  const data::AugmentOptions options = parse_augment(section);
  const std::uint64_t seed = a.seed.value_or(cfg.seed);
  LoadedData loaded = load_data(cfg.dataset, a.data_dir);
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
  data::normalize(copies, batch, loaded.preprocess.mean, loaded.preprocess.std);
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
  io::write_png(a.out, grid);
  fmt::print(
      "wrote {}: {} samples of {} x (original + {} augmented), {}x{} pixels shown at {}x{}\n",
      a.out, rows, cfg.dataset, k, w, h, zoom, zoom);
  if (mixer.enabled())
    fmt::print("mixup/cutmix mixed the augmented versions among the {} shown\n", rows * k);
  return 0;
}

}  // namespace

CommandRunner add_augment_preview_command(CLI::App& app) {
  auto a = std::make_shared<PreviewArgs>();
  auto* cmd =
      app.add_subcommand("augment-preview", "Write a PNG grid of augmented training samples");
  cmd->add_option("--config", a->config, "YAML config with a dataset.augment section")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_option("--data", a->data_dir, "dataset folder (IDX files, or the registry cache)");
  cmd->add_option("--out", a->out, "output PNG file")->required();
  cmd->add_option("--samples", a->samples, "rows: training samples shown")
      ->check(CLI::Range(1, 256));
  cmd->add_option("--versions", a->versions, "augmented versions per sample")
      ->check(CLI::Range(1, 64));
  cmd->add_option("--seed", a->seed, "augmentation seed (default: train.seed)");
  cmd->add_option("--set", a->sets, "override a config key (repeatable)");
  return [a] { return run_augment_preview(*a); };
}

}  // namespace convkit::app
