// CIFAR-10 and CIFAR-100 (Krizhevsky, "Learning Multiple Layers of Features from Tiny Images",
// 2009) in their binary distribution: read from the published .tar.gz itself or from the folder
// it extracts to, and written in the same form (for tests and tools).
//
// A batch file is N records back to back, with no header:
//   CIFAR-10:  1 label byte, then 3072 pixel bytes                       = 3073 bytes
//   CIFAR-100: 1 coarse label byte, 1 fine label byte, then 3072 pixels  = 3074 bytes
// The 3072 pixel bytes are 1024 red, 1024 green, then 1024 blue, each plane 32x32 row by row:
// exactly one image of u8 [C=3, H=32, W=32], so a record's pixels are copied as they are.
// The archives hold
//   cifar-10-binary.tar.gz:  cifar-10-batches-bin/ data_batch_1.bin .. data_batch_5.bin (train,
//                            10,000 records each), test_batch.bin (10,000), batches.meta.txt
//   cifar-100-binary.tar.gz: cifar-100-binary/ train.bin (50,000), test.bin (10,000),
//                            fine_label_names.txt, coarse_label_names.txt
// where the .txt files list the class names, one per line. The registry knows both as `cifar10`,
// `cifar100` (fine labels) and `cifar100-coarse`; load_dataset (resolve.h) finds or downloads them.
#pragma once

#include <convkit/data/dataset.h>
#include <convkit/data/resolve.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace convkit::data {

enum class CifarVariant {
  cifar10,          // 10 classes
  cifar100,         // CIFAR-100 with its fine labels: 100 classes
  cifar100_coarse,  // CIFAR-100 with its coarse labels: 20 superclasses
};

// What a variant's files look like.
struct CifarLayout {
  std::string archive;                   // "cifar-10-binary.tar.gz"
  std::string folder;                    // "cifar-10-batches-bin": the archive's top folder
  std::vector<std::string> train_files;  // read in this order
  std::vector<std::string> test_files;
  std::string names_file;     // "batches.meta.txt": the class names, one per line
  int record_bytes = 0;       // 3073 or 3074
  int label_offset = 0;       // where in a record the label used sits
  int num_classes = 0;        // 10, 100 or 20
  std::string registry_name;  // "cifar10", "cifar100", "cifar100-coarse"
};
const CifarLayout& cifar_layout(CifarVariant variant);

struct CifarOptions {
  CifarVariant variant = CifarVariant::cifar10;
  // The expected number of samples per split (0: any). With a count, a file of another size is
  // an Error naming it, its size and the expected one (CIFAR-10's train count is expected spread
  // evenly over its five batches when it divides by five).
  std::int64_t train_size = 0;
  std::int64_t test_size = 0;
};

// Reads both splits from `path`: the archive as published (.tar.gz, or .tar when decompressed;
// members are matched by file name, whatever folder they are in), or a folder holding the
// extracted files (the layout's folder itself, e.g. cifar-10-batches-bin/, or a folder containing
// it). Images are u8 [N, 3, 32, 32], labels i32 [N] in [0, num_classes) (CIFAR-100's other label
// is checked too); class names come from the names file, or are the published ones when a folder
// lacks it. Malformed input (a size that is not a whole number of records or not the expected
// one, a label out of range, a missing batch, a corrupt archive) is an Error naming the file, the
// byte offset and what was expected.
DatasetSplits read_cifar(const std::filesystem::path& path, const CifarOptions& options = {});

// One batch file (e.g. data_batch_1.bin) of the variant's record layout; class names "0", "1"...
Dataset read_cifar_batch(const std::filesystem::path& file,
                         CifarVariant variant = CifarVariant::cifar10);

// Writes `dataset` (u8 [N, 3, 32, 32]; labels in [0, the variant's classes)) as one batch file.
// CIFAR-100 records get the labels as fine labels and fine / 5 as coarse labels (five fine
// classes per superclass, as in CIFAR-100, though not its grouping); the variant cifar100_coarse
// cannot be written (an Error: write cifar100).
void write_cifar_batch(const std::filesystem::path& file, const Dataset& dataset,
                       CifarVariant variant = CifarVariant::cifar10);

// Writes both splits as the published folder: dir / layout.folder, returned. CIFAR-10's train
// split goes into five consecutive batches of near-equal size; the names file lists the train
// split's class names (CIFAR-100's coarse_label_names.txt: "superclass_0" .. "superclass_19").
std::filesystem::path write_cifar_folder(const std::filesystem::path& dir, const Dataset& train,
                                         const Dataset& test,
                                         CifarVariant variant = CifarVariant::cifar10);

// The same files as one archive laid out as the published one (a directory entry for the folder,
// then the files), gzip-compressed unless the name ends in ".tar".
void write_cifar_archive(const std::filesystem::path& file, const Dataset& train,
                         const Dataset& test, CifarVariant variant = CifarVariant::cifar10);

}  // namespace convkit::data
