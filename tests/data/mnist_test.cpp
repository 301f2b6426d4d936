// The real MNIST and Fashion-MNIST files, when the shared data folder is present
// ($CONVKIT_TEST_DATA, or ../shared/data from the repository root): checksums against the
// registry, sample and class counts, normalization constants, and a file:// download of the
// real files through the same path as an internet download. Skipped when the files are absent.
#include <convkit/data/loader.h>
#include <convkit/data/resolve.h>

#include <gtest/gtest.h>

#include "data/data_test_util.h"

namespace convkit::data {
namespace {

using namespace testing;

std::vector<std::int64_t> class_counts(const Dataset& d) {
  std::vector<std::int64_t> counts(std::size_t(d.num_classes));
  for (std::int64_t i = 0; i < d.size(); ++i) ++counts[d.labels.data<std::int32_t>()[i]];
  return counts;
}

TEST(MnistTest, ChecksumsMatchTheRegistry) {
  auto root = shared_data("mnist");
  if (!root) GTEST_SKIP() << "no MNIST files (set CONVKIT_TEST_DATA)";
  for (const char* name : {"mnist", "fashion-mnist"}) {
    if (!fs::is_directory(*root / name)) continue;
    for (const DatasetFile& f : dataset_info(name).files) {
      fs::path p = *root / name / f.name;
      EXPECT_EQ(std::int64_t(fs::file_size(p)), f.bytes) << p;
      EXPECT_EQ(sha256_file(p), f.sha256) << p;
    }
    EXPECT_EQ(resolve_dataset(name, {.data_dir = *root, .allow_download = false}), *root / name);
  }
}

TEST(MnistTest, LoadsWithTheKnownCounts) {
  auto root = shared_data("mnist");
  if (!root) GTEST_SKIP() << "no MNIST files (set CONVKIT_TEST_DATA)";
  DatasetSplits s = load_dataset("mnist", {.data_dir = *root, .allow_download = false});
  EXPECT_EQ(s.train.images.shape(), (Shape{60000, 1, 28, 28}));
  EXPECT_EQ(s.test.images.shape(), (Shape{10000, 1, 28, 28}));
  EXPECT_EQ(s.train.name, "mnist/train");
  EXPECT_EQ(class_counts(s.train), (std::vector<std::int64_t>{5923, 6742, 5958, 6131, 5842, 5421,
                                                              5918, 6265, 5851, 5949}));
  EXPECT_EQ(class_counts(s.test),
            (std::vector<std::int64_t>{980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009}));
  // The registry's normalization constants are the training set's statistics, rounded.
  ChannelStats st = channel_stats(s.train);
  const DatasetInfo& info = dataset_info("mnist");
  EXPECT_NEAR(st.mean[0], *info.mean, 5e-5);
  EXPECT_NEAR(st.std[0], *info.std, 5e-5);
  // A full epoch through the loader sees every sample once.
  Loader loader(s.test, {.batch_size = 128, .seed = 1, .mean = {*info.mean}, .std = {*info.std}});
  loader.start_epoch(0);
  std::vector<int> seen(10000);
  double mean = 0;
  while (auto b = loader.next()) {
    for (auto i : b->indices) ++seen[std::size_t(i)];
    for (std::int64_t j = 0; j < b->images.numel(); ++j) mean += b->images.data<float>()[j];
  }
  EXPECT_EQ(std::count(seen.begin(), seen.end(), 1), 10000);
  EXPECT_NEAR(mean / (10000.0 * 784), 0.0, 0.02);  // test-set mean is close to the train mean
}

TEST(MnistTest, FashionMnistCounts) {
  auto root = shared_data("fashion-mnist");
  if (!root) GTEST_SKIP() << "no Fashion-MNIST files (set CONVKIT_TEST_DATA)";
  DatasetSplits s = load_dataset("fashion-mnist", {.data_dir = *root, .allow_download = false});
  EXPECT_EQ(class_counts(s.train), std::vector<std::int64_t>(10, 6000));
  EXPECT_EQ(class_counts(s.test), std::vector<std::int64_t>(10, 1000));
  EXPECT_EQ(s.train.class_names[9], "Ankle boot");
  ChannelStats st = channel_stats(s.train);
  EXPECT_NEAR(st.mean[0], 0.2860, 5e-5);
  EXPECT_NEAR(st.std[0], 0.3530, 5e-5);
}

TEST(MnistTest, DownloadsTheRealFilesFromAFileMirror) {
  auto root = shared_data("mnist");
  if (!root) GTEST_SKIP() << "no MNIST files (set CONVKIT_TEST_DATA)";
  TempDir tmp;
  EnvGuard xdg("XDG_CACHE_HOME", tmp.path.string());
  EnvGuard data("CONVKIT_DATA", std::nullopt);
  ResolveOptions opts{.mirrors = {"file://" + (*root / "mnist").string() + "/"}};
  fs::path dir = resolve_dataset("mnist", opts);
  EXPECT_EQ(dir, tmp.path / "convkit" / "datasets" / "mnist");
  for (const DatasetFile& f : dataset_info("mnist").files)
    EXPECT_EQ(sha256_file(dir / f.name), f.sha256);
}

}  // namespace
}  // namespace convkit::data
