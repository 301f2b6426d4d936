// Dataset: images and labels held in memory, plus the IDX reader/writer (the MNIST family's file
// format). Images are u8 [N, C, H, W] (N = samples, C = channels, H = height, W = width), labels
// are i32 [N] in [0, num_classes).
#pragma once

#include <convkit/tensor/tensor.h>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

namespace convkit::data {

struct Dataset {
  Tensor images;  // u8 [N, C, H, W]
  Tensor labels;  // i32 [N]
  int num_classes = 0;
  std::vector<std::string> class_names;  // num_classes entries ("0", "1", ... when unknown)
  std::string name;

  std::int64_t size() const { return labels.defined() ? labels.dim(0) : 0; }
  std::int64_t channels() const { return images.dim(1); }
  std::int64_t height() const { return images.dim(2); }
  std::int64_t width() const { return images.dim(3); }

  // A copy of the samples at `indices` (in that order; repeats allowed). Out-of-range: Error.
  Dataset subset(std::span<const std::int64_t> indices) const;

  // A seeded random split into {rest, held_out}: held_out has round(fraction * N) samples. Both
  // parts keep the original sample order. fraction outside (0, 1), or a split that leaves a part
  // empty, is an Error.
  std::pair<Dataset, Dataset> split(double fraction, std::uint64_t seed) const;
};

// A uniformly random permutation of [0, n) that depends only on `key` (Fisher-Yates driven by
// Philox), written into `out` (resized to n). Used for splits and per-epoch shuffles.
void random_permutation(std::int64_t n, std::uint64_t key, std::vector<std::int64_t>& out);

// Per-channel mean and standard deviation of the pixels scaled to [0, 1] (population std).
struct ChannelStats {
  std::vector<double> mean;
  std::vector<double> std;
};
ChannelStats channel_stats(const Dataset& dataset);

// Reads an IDX images file (magic 0x00000803: u8 [N, H, W]) and labels file (magic 0x00000801:
// u8 [N]), each raw or gzip-compressed (recognized by its first bytes 1f 8b, not by its name).
// num_classes defaults to max(label) + 1; labels must lie below it. Any malformed input is an
// Error naming the file, the byte offset (in the uncompressed stream) and what was expected.
Dataset read_idx(const std::filesystem::path& images, const std::filesystem::path& labels,
                 std::optional<int> num_classes = std::nullopt);

// The single files: images as u8 [N, 1, H, W], labels as i32 [N].
Tensor read_idx_images(const std::filesystem::path& path);
Tensor read_idx_labels(const std::filesystem::path& path);

// Writes `dataset` (C must be 1, labels in [0, 255]) as IDX files, gzip-compressed when `gzip`.
void write_idx(const Dataset& dataset, const std::filesystem::path& images,
               const std::filesystem::path& labels, bool gzip = false);

}  // namespace convkit::data
