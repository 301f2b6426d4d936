// CIFAR-10/100 binary batches (cifar.h) on synthetic files of the real format, written here as the
// extracted folder and as the .tar.gz: round trips, where a pixel and a label land, CIFAR-100's
// fine and coarse labels, malformed files (truncated, bad label, missing batch, wrong names file),
// and the registry path: load_dataset of an archive entry through a file:// mirror, the checksum
// mismatch, extracted folders under --data and $CONVKIT_DATA, and the real cifar10 entry's checks.
#include <convkit/data/cifar.h>
#include <convkit/data/registry.h>
#include <convkit/data/resolve.h>

#include <gtest/gtest.h>

#include "data/data_test_util.h"
#include "data/tar.h"

namespace convkit::data {
namespace {

using namespace testing;

constexpr std::int64_t kRecord10 = 3073, kRecord100 = 3074;

// 100 train samples (five batches of 20) and 10 test samples of 3x32x32, classes c0..c9.
struct Cifar10Files {
  TempDir root;
  Dataset train = synthetic(100, 3, 32, 32, 10, 0);
  Dataset test = synthetic(10, 3, 32, 32, 10, 1);
  Cifar10Files() {
    for (int c = 0; c < 10; ++c) train.class_names[c] = test.class_names[c] = fmt::format("c{}", c);
  }
};

TEST(CifarTest, LayoutsMatchTheRegistry) {
  const std::pair<const char*, CifarVariant> entries[] = {
      {"cifar10", CifarVariant::cifar10},
      {"cifar100", CifarVariant::cifar100},
      {"cifar100-coarse", CifarVariant::cifar100_coarse}};
  for (const auto& [name, variant] : entries) {
    const DatasetInfo& info = dataset_info(name);
    const CifarLayout& l = cifar_layout(variant);
    EXPECT_EQ(l.registry_name, name);
    EXPECT_EQ(l.archive, info.archive.name) << name;
    EXPECT_EQ(l.num_classes, info.num_classes()) << name;
    EXPECT_EQ(info.train_size % std::int64_t(l.train_files.size()), 0) << name;
  }
  EXPECT_EQ(cifar_layout(CifarVariant::cifar10).record_bytes, kRecord10);
  EXPECT_EQ(cifar_layout(CifarVariant::cifar100).record_bytes, kRecord100);
}

TEST(CifarTest, FolderRoundTrip) {
  Cifar10Files f;
  fs::path folder = write_cifar_folder(f.root.path, f.train, f.test);
  EXPECT_EQ(folder, f.root / "cifar-10-batches-bin");
  for (int b = 1; b <= 5; ++b)
    EXPECT_EQ(fs::file_size(folder / fmt::format("data_batch_{}.bin", b)), 20u * kRecord10);
  EXPECT_EQ(fs::file_size(folder / "test_batch.bin"), 10u * kRecord10);
  // The folder itself, or the folder holding it.
  for (const fs::path& p : {folder, f.root.path}) {
    DatasetSplits s = read_cifar(p, {.train_size = 100, .test_size = 10});
    EXPECT_TRUE(same_data(s.train, f.train));
    EXPECT_TRUE(same_data(s.test, f.test));
    EXPECT_EQ(s.train.num_classes, 10);
    EXPECT_EQ(s.train.class_names, f.train.class_names);  // from batches.meta.txt
    EXPECT_EQ(s.test.class_names, f.train.class_names);
    EXPECT_EQ(s.train.name, "cifar10/train");
    EXPECT_EQ(s.test.name, "cifar10/test");
  }
}

TEST(CifarTest, ArchiveRoundTrip) {
  Cifar10Files f;
  for (const char* name : {"cifar-10-binary.tar.gz", "cifar-10-binary.tar"}) {
    write_cifar_archive(f.root / name, f.train, f.test);
    DatasetSplits s = read_cifar(f.root / name);
    EXPECT_TRUE(same_data(s.train, f.train)) << name;
    EXPECT_TRUE(same_data(s.test, f.test)) << name;
    EXPECT_EQ(s.train.class_names, f.train.class_names) << name;
  }
  // Laid out as the published archive.
  auto members =
      detail::read_tar(f.root / "cifar-10-binary.tar.gz", [](const std::string&) { return true; });
  std::vector<std::string> names;
  for (const auto& m : members) names.push_back(m.name);
  EXPECT_EQ(names,
            (std::vector<std::string>{
                "cifar-10-batches-bin/data_batch_1.bin", "cifar-10-batches-bin/data_batch_2.bin",
                "cifar-10-batches-bin/data_batch_3.bin", "cifar-10-batches-bin/data_batch_4.bin",
                "cifar-10-batches-bin/data_batch_5.bin", "cifar-10-batches-bin/test_batch.bin",
                "cifar-10-batches-bin/batches.meta.txt"}));
}

TEST(CifarTest, PixelAndLabelLayout) {
  TempDir dir;
  // Two CIFAR-10 records: zeros except record 1's label 7 and its pixel (c=1, y=5, x=9) = 200.
  Bytes b(2 * kRecord10, 0);
  b[kRecord10] = 7;
  b[kRecord10 + 1 + 1 * 1024 + 5 * 32 + 9] = 200;
  write_bytes(dir / "batch.bin", b);
  Dataset d = read_cifar_batch(dir / "batch.bin");
  ASSERT_EQ(d.images.shape(), Shape({2, 3, 32, 32}));
  const auto* px = static_cast<const std::uint8_t*>(d.images.raw());
  EXPECT_EQ(px[((1 * 3 + 1) * 32 + 5) * 32 + 9], 200);
  EXPECT_EQ(std::count(px, px + d.images.numel(), 0), d.images.numel() - 1);
  EXPECT_EQ(d.labels.data<std::int32_t>()[0], 0);
  EXPECT_EQ(d.labels.data<std::int32_t>()[1], 7);
  EXPECT_EQ(d.num_classes, 10);

  // A CIFAR-100 record: coarse 3, fine 42, the last pixel (c=2, y=31, x=31) = 9.
  Bytes c(kRecord100, 0);
  c[0] = 3;
  c[1] = 42;
  c[kRecord100 - 1] = 9;
  write_bytes(dir / "train.bin", c);
  Dataset fine = read_cifar_batch(dir / "train.bin", CifarVariant::cifar100);
  Dataset coarse = read_cifar_batch(dir / "train.bin", CifarVariant::cifar100_coarse);
  EXPECT_EQ(fine.labels.data<std::int32_t>()[0], 42);
  EXPECT_EQ(fine.num_classes, 100);
  EXPECT_EQ(coarse.labels.data<std::int32_t>()[0], 3);
  EXPECT_EQ(coarse.num_classes, 20);
  EXPECT_EQ(static_cast<const std::uint8_t*>(fine.images.raw())[3071], 9);
}

TEST(CifarTest, Cifar100FineAndCoarse) {
  TempDir dir;
  Dataset train = synthetic(50, 3, 32, 32, 100, 0), test = synthetic(10, 3, 32, 32, 100, 1);
  write_cifar_archive(dir / "cifar-100-binary.tar.gz", train, test, CifarVariant::cifar100);
  fs::path folder = write_cifar_folder(dir.path, train, test, CifarVariant::cifar100);
  EXPECT_EQ(fs::file_size(folder / "train.bin"), 50u * kRecord100);
  for (const fs::path& p : {dir / "cifar-100-binary.tar.gz", folder}) {
    DatasetSplits s = read_cifar(p, {.variant = CifarVariant::cifar100});
    EXPECT_TRUE(same_data(s.train, train));
    EXPECT_EQ(s.train.class_names, train.class_names);
    EXPECT_EQ(s.train.num_classes, 100);
    DatasetSplits c = read_cifar(p, {.variant = CifarVariant::cifar100_coarse});
    EXPECT_EQ(c.train.num_classes, 20);
    ASSERT_EQ(c.train.class_names.size(), 20u);
    EXPECT_EQ(c.train.class_names[19], "superclass_19");
    for (std::int64_t i = 0; i < c.train.size(); ++i)
      EXPECT_EQ(c.train.labels.data<std::int32_t>()[i], train.labels.data<std::int32_t>()[i] / 5);
  }
  EXPECT_HAS(
      error_of([&] { write_cifar_batch(dir / "x.bin", train, CifarVariant::cifar100_coarse); }),
      "cannot be written: write cifar100");
}

TEST(CifarTest, TruncatedFile) {
  Cifar10Files f;
  fs::path folder = write_cifar_folder(f.root.path, f.train, f.test);
  Bytes b = read_bytes(folder / "data_batch_3.bin");
  b.pop_back();
  write_bytes(folder / "data_batch_3.bin", b);
  const std::string file = (folder / "data_batch_3.bin").string();
  EXPECT_HAS(error_of([&] { read_cifar(folder); }),
             file +
                 ": truncated at byte 61459: record 19 starts at byte 58387 and has 3072 of "
                 "its 3073 bytes");
  EXPECT_HAS(error_of([&] { read_cifar(folder, {.train_size = 100}); }),
             file +
                 ": truncated at byte 61459: expected 61460 bytes (20 3073-byte records: 1 "
                 "label byte and 3072 pixel bytes)");
  b.resize(b.size() + 2);
  write_bytes(folder / "data_batch_3.bin", b);
  EXPECT_HAS(error_of([&] { read_cifar(folder, {.train_size = 100}); }),
             file + ": 1 bytes after byte 61460: expected exactly 61460 bytes");
  write_bytes(folder / "data_batch_3.bin", {});
  EXPECT_HAS(error_of([&] { read_cifar_batch(folder / "data_batch_3.bin"); }),
             file + ": empty (0 bytes)");
}

TEST(CifarTest, TruncatedMemberInArchive) {
  Cifar10Files f;
  fs::path folder = write_cifar_folder(f.root.path, f.train, f.test);
  std::vector<detail::TarMember> members;
  for (const char* name :
       {"data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin", "data_batch_4.bin",
        "data_batch_5.bin", "test_batch.bin", "batches.meta.txt"})
    members.push_back({std::string("cifar-10-batches-bin/") + name, read_bytes(folder / name)});
  members[5].data.resize(members[5].data.size() - 100);
  detail::write_tar(f.root / "a.tar.gz", members, true);
  EXPECT_HAS(error_of([&] { read_cifar(f.root / "a.tar.gz"); }),
             (f.root / "a.tar.gz").string() +
                 " (member cifar-10-batches-bin/test_batch.bin): truncated at byte 30630");
  members.erase(members.begin() + 3);
  detail::write_tar(f.root / "b.tar.gz", members, true);
  EXPECT_HAS(error_of([&] { read_cifar(f.root / "b.tar.gz"); }),
             (f.root / "b.tar.gz").string() +
                 ": no member cifar-10-batches-bin/data_batch_4.bin: expected "
                 "cifar-10-binary.tar.gz to hold data_batch_1.bin");
}

TEST(CifarTest, BadLabel) {
  Cifar10Files f;
  fs::path folder = write_cifar_folder(f.root.path, f.train, f.test);
  Bytes b = read_bytes(folder / "test_batch.bin");
  b[4 * kRecord10] = 10;
  write_bytes(folder / "test_batch.bin", b);
  EXPECT_HAS(
      error_of([&] { read_cifar(folder); }),
      (folder / "test_batch.bin").string() +
          ": label 10 at byte 12292 (record 4) is out of range: expected a label in [0, 10)");

  TempDir dir;
  Bytes c(2 * kRecord100, 0);
  c[kRecord100 + 1] = 100;
  write_bytes(dir / "train.bin", c);
  EXPECT_HAS(error_of([&] { read_cifar_batch(dir / "train.bin", CifarVariant::cifar100); }),
             "fine label 100 at byte 3075 (record 1) is out of range: expected a fine label in "
             "[0, 100)");
  c[kRecord100 + 1] = 0;
  c[0] = 20;
  write_bytes(dir / "train.bin", c);
  EXPECT_HAS(error_of([&] { read_cifar_batch(dir / "train.bin", CifarVariant::cifar100); }),
             "coarse label 20 at byte 0 (record 0) is out of range");
}

TEST(CifarTest, MissingBatchFile) {
  Cifar10Files f;
  fs::path folder = write_cifar_folder(f.root.path, f.train, f.test);
  fs::remove(folder / "data_batch_2.bin");
  EXPECT_HAS(error_of([&] { read_cifar(folder); }),
             folder.string() + ": missing data_batch_2.bin: expected the CIFAR batches");
}

TEST(CifarTest, ClassNamesFile) {
  Cifar10Files f;
  fs::path folder = write_cifar_folder(f.root.path, f.train, f.test);
  // The published file ends with a blank line; CRLF line ends are tolerated too.
  write_bytes(folder / "batches.meta.txt", Bytes{'a', '\r', '\n', 'b', '\n'});
  std::string e = error_of([&] { read_cifar(folder); });
  EXPECT_HAS(e, (folder / "batches.meta.txt").string() + ": 2 class names: expected 10");
  std::string text = "n0\r\nn1\nn2\nn3\nn4\nn5\nn6\nn7\nn8\nn9\n\n\n";
  write_bytes(folder / "batches.meta.txt", Bytes(text.begin(), text.end()));
  DatasetSplits s = read_cifar(folder);
  EXPECT_EQ(s.train.class_names.front(), "n0");
  EXPECT_EQ(s.train.class_names.back(), "n9");
  text = "n0\n\nn2\n";
  write_bytes(folder / "batches.meta.txt", Bytes(text.begin(), text.end()));
  EXPECT_HAS(error_of([&] { read_cifar(folder); }),
             "batches.meta.txt: line 2 is empty: expected one class name per line");
  // Without the file: the published names.
  fs::remove(folder / "batches.meta.txt");
  s = read_cifar(folder);
  EXPECT_EQ(s.train.class_names, dataset_info("cifar10").class_names);
}

// A synthetic archive dataset "tinycifar" published at a file:// mirror, in an isolated
// environment (as resolve_test's Tiny).
struct TinyCifar : Cifar10Files {
  fs::path mirror = root / "mirror";
  fs::path cache = root / "xdg" / "convkit" / "datasets" / "tinycifar";
  DatasetInfo info;
  EnvGuard xdg{"XDG_CACHE_HOME", (root / "xdg").string()};
  EnvGuard home{"HOME", (root / "home").string()};
  EnvGuard data{"CONVKIT_DATA", std::nullopt};
  TinyCifar() {
    fs::create_directories(mirror);
    fs::path archive = mirror / "cifar-10-binary.tar.gz";
    write_cifar_archive(archive, train, test);
    info = DatasetInfo{
        .name = "tinycifar",
        .format = DatasetFormat::cifar10_binary,
        .archive = {"cifar-10-binary.tar.gz", std::int64_t(fs::file_size(archive)),
                    sha256_file(archive)},
        .mirrors = {"file://" + mirror.string() + "/"},
        .channels = 3,
        .height = 32,
        .width = 32,
        .train_size = 100,
        .test_size = 10,
        .class_names = {"a", "b", "c", "d", "e", "f", "g", "h", "i", "j"},
    };
  }
};

TEST(CifarTest, LoadDatasetDownloadsTheArchive) {
  TinyCifar t;
  DatasetSplits s = load_dataset(t.info);
  EXPECT_TRUE(same_data(s.train, t.train));
  EXPECT_TRUE(same_data(s.test, t.test));
  EXPECT_EQ(s.train.name, "tinycifar/train");
  EXPECT_EQ(s.train.class_names, t.info.class_names);  // the registry's names win
  EXPECT_EQ(read_bytes(t.cache / "cifar-10-binary.tar.gz"),
            read_bytes(t.mirror / "cifar-10-binary.tar.gz"));
  EXPECT_EQ(resolve_dataset(t.info, {.allow_download = false}), t.cache / "cifar-10-binary.tar.gz");
}

TEST(CifarTest, ChecksumMismatch) {
  TinyCifar t;
  const std::string real = t.info.archive.sha256;
  t.info.archive.sha256 = std::string(64, '0');
  std::string e = error_of([&] { resolve_dataset(t.info); });
  EXPECT_HAS(e, "every mirror failed for cifar-10-binary.tar.gz");
  EXPECT_HAS(e, "SHA-256 mismatch: expected " + std::string(64, '0') + ", got " + real);
  EXPECT_FALSE(fs::exists(t.cache / "cifar-10-binary.tar.gz"));
  // A corrupt archive in a user folder is an Error and is kept.
  t.info.archive.sha256 = real;
  fs::create_directories(t.root / "data" / "tinycifar");
  Bytes b = read_bytes(t.mirror / "cifar-10-binary.tar.gz");
  b[b.size() / 2] ^= 1;
  write_bytes(t.root / "data" / "tinycifar" / "cifar-10-binary.tar.gz", b);
  e = error_of([&] { load_dataset(t.info, {.data_dir = t.root / "data"}); });
  EXPECT_HAS(e, (t.root / "data" / "tinycifar" / "cifar-10-binary.tar.gz").string() +
                    ": SHA-256 mismatch: expected " + real);
  EXPECT_HAS(e, "never overwrites");
}

TEST(CifarTest, ExtractedFolderInUserDirs) {
  TinyCifar t;
  // --data DIR holding cifar-10-batches-bin/, or --data pointing at that folder itself.
  fs::path folder = write_cifar_folder(t.root / "data", t.train, t.test);
  EXPECT_EQ(resolve_dataset(t.info, {.data_dir = t.root / "data"}), folder);
  EXPECT_EQ(resolve_dataset(t.info, {.data_dir = folder}), folder);
  DatasetSplits s = load_dataset(t.info, {.data_dir = t.root / "data"});
  EXPECT_TRUE(same_data(s.train, t.train));
  // $CONVKIT_DATA/cifar-10-batches-bin, beside other datasets' folders.
  {
    EnvGuard data("CONVKIT_DATA", (t.root / "data").string());
    EXPECT_EQ(resolve_dataset(t.info, {.allow_download = false}), folder);
  }
  // An incomplete folder is an Error naming what is missing.
  fs::remove(folder / "data_batch_2.bin");
  std::string e = error_of([&] { resolve_dataset(t.info, {.data_dir = t.root / "data"}); });
  EXPECT_HAS(e, folder.string() +
                    " (--data) holds only some of the tinycifar files: data_batch_2.bin missing");
  EXPECT_HAS(e, "Put cifar-10-binary.tar.gz (or the folder cifar-10-batches-bin it extracts to)");
  EXPECT_HAS(e, t.info.mirrors[0] + "cifar-10-binary.tar.gz");
}

TEST(CifarTest, NotFoundMessage) {
  TinyCifar t;
  fs::create_directories(t.root / "empty");
  std::string e = error_of([&] { resolve_dataset(t.info, {.data_dir = t.root / "empty"}); });
  EXPECT_HAS(e, "no tinycifar files found in " + (t.root / "empty" / "tinycifar").string());
  EXPECT_HAS(e,
             "\n  $CONVKIT_DATA/tinycifar  (or $CONVKIT_DATA itself; set CONVKIT_DATA to a "
             "folder)\n  " +
                 t.cache.string() + "\n");
  EXPECT_HAS(e, "Download it from:\n  cifar-10-binary.tar.gz (" +
                    std::to_string(t.info.archive.bytes) + " bytes, SHA-256 " +
                    t.info.archive.sha256 + "): " + t.info.mirrors[0] + "cifar-10-binary.tar.gz");
}

TEST(CifarTest, CoarseEntrySharesTheFolder) {
  EXPECT_EQ(dataset_info("cifar100-coarse").folder_name(), "cifar100");
  TempDir root;
  EnvGuard xdg("XDG_CACHE_HOME", (root / "xdg").string());
  EnvGuard data("CONVKIT_DATA", std::nullopt);
  Dataset train = synthetic(10, 3, 32, 32, 100, 0), test = synthetic(5, 3, 32, 32, 100, 1);
  fs::path dir = root / "xdg" / "convkit" / "datasets" / "cifar100";
  fs::path folder = write_cifar_folder(dir, train, test, CifarVariant::cifar100);
  EXPECT_EQ(resolve_dataset("cifar100-coarse", {.allow_download = false}), folder);
  EXPECT_EQ(resolve_dataset("cifar100", {.allow_download = false}), folder);
}

TEST(CifarTest, RealEntryChecksCounts) {
  Cifar10Files f;
  write_cifar_folder(f.root / "data", f.train, f.test);
  std::string e = error_of([&] { load_dataset("cifar10", {.data_dir = f.root / "data"}); });
  EXPECT_HAS(e, (f.root / "data" / "cifar-10-batches-bin" / "data_batch_1.bin").string() +
                    ": truncated at byte 61460: expected 30730000 bytes (10000 3073-byte records");
}

}  // namespace
}  // namespace convkit::data
