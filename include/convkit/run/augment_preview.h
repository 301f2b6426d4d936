// A PNG grid showing what a config's dataset.augment section does: each row is one training
// sample, first the original, then augmented versions (the transforms the Loader hook applies,
// then mixup/cutmix within the shown batch when enabled). Small images are enlarged (nearest).
#pragma once

#include <convkit/run/config.h>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

namespace convkit::run {

struct AugmentPreviewOptions {
  int samples = 8;                    // rows: training samples shown
  int versions = 7;                   // augmented versions per sample
  std::optional<std::uint64_t> seed;  // default: train.seed
  std::string data_dir;               // the dataset's files (--data)
};

struct AugmentPreview {
  std::int64_t rows = 0, versions = 0;
  std::int64_t width = 0, height = 0, zoom = 1;  // sample size and enlargement
  bool mixed = false;                            // mixup/cutmix mixed the shown versions
};

// Writes the grid to `out` (PNG) and says what it shows.
AugmentPreview write_augment_preview(const RunConfig& config, const AugmentPreviewOptions& options,
                                     const std::filesystem::path& out);

}  // namespace convkit::run
