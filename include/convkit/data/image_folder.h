// Image files as a streaming Source: a folder of class folders (root/<class>/*.jpg, as
// torchvision's ImageFolder and Keras' image_dataset_from_directory read it) or a CSV list of
// `path,label` lines. Only the paths and labels are held in memory; each image is read and
// decoded (JPEG, PNG, PGM/PPM, recognized by content) when a loader worker asks for it.
//
// Scanning checks what can be checked cheaply: every file's first bytes (a zero-byte file or one
// that is not an image is reported with its path), empty class folders and a folder with fewer
// than two classes. Files that turn out corrupt only when decoded (a truncated JPEG) are found
// by the Loader, which fails or skips them (LoaderOptions::skip_unreadable).
#pragma once

#include <convkit/data/source.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace convkit::data {

struct ImageFileOptions {
  // Files with other extensions are ignored (compared case-insensitively).
  std::vector<std::string> extensions = {".jpg", ".jpeg", ".png", ".pgm", ".ppm"};
  // true: files that are empty or not images are left out, counted and listed (skipped());
  // false: the first one is an Error naming it.
  bool skip_bad_files = false;
  // Decoding at reduced size (JPEG DCT scaling) is allowed down to this size: the loader's
  // training size, so a large photo decodes at a fraction of the cost. 0: full size.
  std::int64_t min_height = 0, min_width = 0;
};

class ImageFileSource final : public Source {
 public:
  ImageFileSource(std::string name, std::vector<std::filesystem::path> paths,
                  std::vector<std::int32_t> labels, std::vector<std::string> class_names,
                  ImageFileOptions options);

  std::int64_t size() const override { return std::int64_t(paths_.size()); }
  std::int32_t label(std::int64_t i) const override { return labels_[std::size_t(i)]; }
  Tensor image(std::int64_t i) const override;
  std::string sample_name(std::int64_t i) const override { return paths_[std::size_t(i)]; }

  const std::filesystem::path& path(std::int64_t i) const { return paths_[std::size_t(i)]; }
  // Files left out while scanning, each "path: why".
  const std::vector<std::string>& skipped() const { return skipped_; }
  void set_skipped(std::vector<std::string> skipped) { skipped_ = std::move(skipped); }
  // Per-class sample counts, indexed by label.
  std::vector<std::int64_t> class_counts() const;
  const ImageFileOptions& options() const { return options_; }
  void set_decode_size(std::int64_t min_height, std::int64_t min_width);

 private:
  std::vector<std::filesystem::path> paths_;
  std::vector<std::int32_t> labels_;
  std::vector<std::string> skipped_;
  ImageFileOptions options_;
};

// root/<class>/<files>: classes are the sub-folders' names in sorted order (or `classes`, when
// given: then every sub-folder must be one of them, as a test folder must use the training
// folder's classes), files sorted by name within a class. Errors (naming the folder or file): a
// missing root, no class folders, one class only (unless `classes` is given), an empty class
// folder, a bad file when !skip_bad_files.
std::shared_ptr<ImageFileSource> scan_image_folder(
    const std::filesystem::path& root, const ImageFileOptions& options = {},
    const std::vector<std::string>* classes = nullptr);

// A CSV list: one `path,label` per line (a first line `path,label` is a header; fields may be
// double-quoted). Paths are relative to the CSV file's folder unless absolute; labels are class
// names (classes: the sorted distinct names, or `classes` when given). Errors name the file and
// line.
std::shared_ptr<ImageFileSource> read_image_list(const std::filesystem::path& csv,
                                                 const ImageFileOptions& options = {},
                                                 const std::vector<std::string>* classes = nullptr);

// What a folder holds: root/train, root/val (or root/validation), root/test when root/train
// exists; otherwise root itself is the training folder. Missing parts are null.
struct ImageFolderSplits {
  std::shared_ptr<ImageFileSource> train, validation, test;
};
ImageFolderSplits scan_image_folder_splits(const std::filesystem::path& root,
                                           const ImageFileOptions& options = {});

// Reads a whole file into memory (an Error names the file and the OS's reason).
std::vector<std::byte> read_file_bytes(const std::filesystem::path& path);

}  // namespace convkit::data
