// Dataset resolution and download: the search order (--data, $CONVKIT_DATA, the XDG/HOME
// cache), downloads through file:// mirrors (the real libcurl path) with size and SHA-256
// checks, corrupt files, and the messages that tell users where to put files.
#include <convkit/data/resolve.h>

#include <gtest/gtest.h>

#include "data/data_test_util.h"

namespace convkit::data {
namespace {

using namespace testing;

// A small dataset "tiny" published as four .gz files in a file:// mirror, with an isolated
// environment: XDG_CACHE_HOME and HOME point into the temp dir, CONVKIT_DATA is unset.
struct Tiny {
  TempDir root;
  fs::path mirror = root / "mirror";
  fs::path cache = root / "xdg" / "convkit" / "datasets" / "tiny";
  Dataset train = synthetic(12, 1, 4, 3, 5, 0);
  Dataset test = synthetic(5, 1, 4, 3, 5, 1);
  DatasetInfo info;
  EnvGuard xdg{"XDG_CACHE_HOME", (root / "xdg").string()};
  EnvGuard home{"HOME", (root / "home").string()};
  EnvGuard data{"CONVKIT_DATA", std::nullopt};

  Tiny() {
    info.name = "tiny";
    const char* names[] = {"train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
                           "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"};
    fs::create_directories(mirror);
    write_idx(train, mirror / names[0], mirror / names[1], true);
    write_idx(test, mirror / names[2], mirror / names[3], true);
    for (int i = 0; i < 4; ++i)
      info.files[i] = {names[i], std::int64_t(fs::file_size(mirror / names[i])),
                       sha256_file(mirror / names[i])};
    info.mirrors = {"file://" + mirror.string() + "/"};
    info.height = 4;
    info.width = 3;
    info.train_size = 12;
    info.test_size = 5;
    info.class_names = {"a", "b", "c", "d", "e"};
  }
  // Copies the published files into `dir` (uncompressed, under their raw names, when raw).
  fs::path put(const fs::path& dir, bool raw = false) const {
    fs::create_directories(dir);
    if (raw) {
      write_idx(train, dir / info.files[0].raw_name(), dir / info.files[1].raw_name());
      write_idx(test, dir / info.files[2].raw_name(), dir / info.files[3].raw_name());
    } else {
      for (const DatasetFile& f : info.files) fs::copy_file(mirror / f.name, dir / f.name);
    }
    return dir;
  }
};

std::vector<std::string> listing(const fs::path& dir) {
  std::vector<std::string> names;
  if (!fs::exists(dir)) return names;
  for (const auto& e : fs::directory_iterator(dir)) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

TEST(ResolveTest, DataDirComesFirst) {
  Tiny t;
  EnvGuard data("CONVKIT_DATA", (t.root / "env").string());
  t.put(t.root / "env" / "tiny");
  t.put(t.cache);
  t.put(t.root / "data" / "tiny");
  EXPECT_EQ(resolve_dataset(t.info, {.data_dir = t.root / "data"}), t.root / "data" / "tiny");
  t.put(t.root / "flat");  // DIR itself holds the files
  EXPECT_EQ(resolve_dataset(t.info, {.data_dir = t.root / "flat"}), t.root / "flat");
}

TEST(ResolveTest, ConvkitDataBeforeCache) {
  Tiny t;
  EnvGuard data("CONVKIT_DATA", (t.root / "env").string());
  t.put(t.cache);
  EXPECT_EQ(resolve_dataset(t.info), t.cache);  // nothing under $CONVKIT_DATA/tiny yet
  t.put(t.root / "env" / "tiny");
  EXPECT_EQ(resolve_dataset(t.info), t.root / "env" / "tiny");
}

TEST(ResolveTest, CacheFollowsXdgThenHome) {
  Tiny t;
  EXPECT_EQ(*dataset_cache_dir("tiny"), t.cache);
  {
    EnvGuard xdg("XDG_CACHE_HOME", std::nullopt);
    EXPECT_EQ(*dataset_cache_dir("tiny"),
              t.root / "home" / ".cache" / "convkit" / "datasets" / "tiny");
    t.put(t.root / "home" / ".cache" / "convkit" / "datasets" / "tiny");
    EXPECT_EQ(resolve_dataset(t.info, {.allow_download = false}),
              t.root / "home" / ".cache" / "convkit" / "datasets" / "tiny");
  }
  EnvGuard relative("XDG_CACHE_HOME", "relative/dir");  // the spec says: ignore relative paths
  EXPECT_EQ(*dataset_cache_dir("tiny"),
            t.root / "home" / ".cache" / "convkit" / "datasets" / "tiny");
}

TEST(ResolveTest, DataDirWithoutFilesIsAnErrorNotAFallback) {
  Tiny t;
  t.put(t.cache);
  fs::create_directories(t.root / "empty");
  std::string e = error_of([&] { resolve_dataset(t.info, {.data_dir = t.root / "empty"}); });
  EXPECT_HAS(e, "--data " + (t.root / "empty").string());
  EXPECT_HAS(e, "no tiny files found");
}

TEST(ResolveTest, DownloadsIntoTheCache) {
  Tiny t;
  DatasetSplits s = load_dataset(t.info);
  EXPECT_TRUE(same_data(s.train, t.train));
  EXPECT_TRUE(same_data(s.test, t.test));
  EXPECT_EQ(s.train.name, "tiny/train");
  EXPECT_EQ(s.test.class_names, t.info.class_names);
  EXPECT_EQ(s.train.num_classes, 5);
  // Exactly the four files, byte-identical, and no temporary files.
  std::vector<std::string> want;
  for (const DatasetFile& f : t.info.files) {
    want.push_back(f.name);
    EXPECT_EQ(read_bytes(t.cache / f.name), read_bytes(t.mirror / f.name));
  }
  std::sort(want.begin(), want.end());
  EXPECT_EQ(listing(t.cache), want);
  // Now cached: resolving again needs no mirror.
  EXPECT_EQ(resolve_dataset(t.info, {.allow_download = false}), t.cache);
}

TEST(ResolveTest, NextMirrorWhenOneFails) {
  Tiny t;
  ResolveOptions opts{
      .mirrors = {"file://" + (t.root / "nowhere").string() + "/", t.info.mirrors[0]}};
  EXPECT_EQ(resolve_dataset(t.info, opts), t.cache);
  EXPECT_EQ(listing(t.cache).size(), 4u);
}

TEST(ResolveTest, ChecksumMismatchLeavesNoFile) {
  Tiny t;
  t.info.files[kTrainImages].sha256 = std::string(64, '0');
  std::string e = error_of([&] { resolve_dataset(t.info); });
  EXPECT_HAS(e, "cannot download dataset 'tiny'");
  EXPECT_HAS(e, "file://" + (t.mirror / "train-images-idx3-ubyte.gz").string() +
                    ": SHA-256 mismatch: expected " + std::string(64, '0') + ", got " +
                    sha256_file(t.mirror / "train-images-idx3-ubyte.gz"));
  EXPECT_EQ(listing(t.cache), std::vector<std::string>{});  // no partial or unverified file
}

TEST(ResolveTest, SizeMismatchLeavesNoFile) {
  Tiny t;
  const std::int64_t real = t.info.files[kTestLabels].bytes;
  t.info.files[kTestLabels].bytes = real - 1;
  std::string e = error_of([&] { resolve_dataset(t.info); });
  EXPECT_HAS(e, fmt::format("more than the expected {} bytes", real - 1));
  t.info.files[kTestLabels].bytes = real + 1;
  e = error_of([&] { resolve_dataset(t.info); });
  EXPECT_HAS(e, fmt::format("got {} bytes, expected {}", real, real + 1));
  for (const std::string& name : listing(t.cache)) EXPECT_NE(name, "t10k-labels-idx1-ubyte.gz");
  for (const std::string& name : listing(t.cache)) EXPECT_EQ(name.find(".part"), std::string::npos);
}

TEST(ResolveTest, MissingFileOnMirror) {
  Tiny t;
  fs::remove(t.mirror / "t10k-labels-idx1-ubyte.gz");
  std::string e = error_of([&] { resolve_dataset(t.info); });
  EXPECT_HAS(e, "every mirror failed for t10k-labels-idx1-ubyte.gz");
  EXPECT_HAS(e, "file://" + (t.mirror / "t10k-labels-idx1-ubyte.gz").string() + ": ");
  EXPECT_HAS(e, "curl error 37");  // CURLE_FILE_COULDNT_READ_FILE
}

TEST(ResolveTest, NoNetworkMessageListsPathsAndUrls) {
  Tiny t;
  ResolveOptions opts{.mirrors = {"file:///nonexistent-convkit-mirror/"}};
  std::string e = error_of([&] { resolve_dataset(t.info, opts); });
  EXPECT_HAS(e, "$CONVKIT_DATA/tiny");
  EXPECT_HAS(e, t.cache.string());
  for (const DatasetFile& f : t.info.files) {
    EXPECT_HAS(e, "file:///nonexistent-convkit-mirror/" + f.name);
    EXPECT_HAS(e, f.sha256);
  }
  // Downloads disabled: the same advice, plus --data and $CONVKIT_DATA when given.
  EnvGuard data("CONVKIT_DATA", (t.root / "env").string());
  e = error_of([&] { resolve_dataset(t.info, {.allow_download = false}); });
  EXPECT_HAS(e, "downloads are disabled");
  EXPECT_HAS(e, (t.root / "env" / "tiny").string());
  EXPECT_HAS(e, t.cache.string());
  EXPECT_HAS(e, t.info.mirrors[0] + "train-images-idx3-ubyte.gz");
  fs::create_directories(t.root / "d");
  e = error_of([&] { resolve_dataset(t.info, {.data_dir = t.root / "d"}); });
  EXPECT_HAS(e, (t.root / "d" / "tiny").string());
}

TEST(ResolveTest, CorruptFileInUserDirIsAnErrorAndKept) {
  Tiny t;
  fs::path dir = t.put(t.root / "data" / "tiny");
  Bytes bytes = read_bytes(dir / "train-labels-idx1-ubyte.gz");
  bytes[bytes.size() / 2] ^= 1;  // same size, other content
  write_bytes(dir / "train-labels-idx1-ubyte.gz", bytes);
  std::string e = error_of([&] { resolve_dataset(t.info, {.data_dir = t.root / "data"}); });
  EXPECT_HAS(e, (dir / "train-labels-idx1-ubyte.gz").string() + ": SHA-256 mismatch: expected " +
                    t.info.files[kTrainLabels].sha256);
  EXPECT_HAS(e, "never overwrites");
  EXPECT_EQ(read_bytes(dir / "train-labels-idx1-ubyte.gz"), bytes);
  // The same under $CONVKIT_DATA.
  EnvGuard data("CONVKIT_DATA", (t.root / "data").string());
  EXPECT_HAS(error_of([&] { resolve_dataset(t.info); }), "SHA-256 mismatch");
  EXPECT_EQ(read_bytes(dir / "train-labels-idx1-ubyte.gz"), bytes);
}

TEST(ResolveTest, CorruptFileInCacheIsDownloadedAgain) {
  Tiny t;
  t.put(t.cache);
  write_bytes(t.cache / "t10k-images-idx3-ubyte.gz", {1, 2, 3});
  std::string e = error_of([&] { resolve_dataset(t.info, {.allow_download = false}); });
  EXPECT_HAS(e, (t.cache / "t10k-images-idx3-ubyte.gz").string() + ": size mismatch: expected " +
                    std::to_string(t.info.files[kTestImages].bytes) + " bytes, found 3");
  EXPECT_EQ(resolve_dataset(t.info), t.cache);
  EXPECT_EQ(read_bytes(t.cache / "t10k-images-idx3-ubyte.gz"),
            read_bytes(t.mirror / "t10k-images-idx3-ubyte.gz"));
}

TEST(ResolveTest, PartialUserDirIsAnError) {
  Tiny t;
  fs::path dir = t.put(t.root / "data");
  fs::remove(dir / "t10k-images-idx3-ubyte.gz");
  std::string e = error_of([&] { resolve_dataset(t.info, {.data_dir = dir}); });
  EXPECT_HAS(e,
             dir.string() +
                 " (--data) holds only some of the tiny files: t10k-images-idx3-ubyte.gz missing");
  EXPECT_HAS(e, t.info.mirrors[0] + "t10k-images-idx3-ubyte.gz");
}

TEST(ResolveTest, UncompressedFilesAreAcceptedAndStillValidated) {
  Tiny t;
  fs::path dir = t.put(t.root / "raw" / "tiny", true);
  DatasetSplits s = load_dataset(t.info, {.data_dir = t.root / "raw"});
  EXPECT_TRUE(same_data(s.train, t.train));
  EXPECT_TRUE(same_data(s.test, t.test));
  Bytes labels = read_bytes(dir / "t10k-labels-idx1-ubyte");
  labels.pop_back();
  write_bytes(dir / "t10k-labels-idx1-ubyte", labels);
  std::string e = error_of([&] { load_dataset(t.info, {.data_dir = t.root / "raw"}); });
  EXPECT_HAS(e, (dir / "t10k-labels-idx1-ubyte").string() + ": truncated at byte 12 of 13");
}

TEST(ResolveTest, LoadChecksShapeAndCountsAgainstTheRegistryEntry) {
  Tiny t;
  t.info.width = 5;
  EXPECT_HAS(error_of([&] { load_dataset(t.info); }), "images are 1x4x3: expected 1x4x5 for tiny");
  t.info.width = 3;
  t.info.train_size = 13;
  EXPECT_HAS(error_of([&] { load_dataset(t.info); }),
             "12 samples: expected 13 in the tiny train split");
}

TEST(ResolveTest, UnknownName) {
  EXPECT_HAS(error_of([] { resolve_dataset("nope"); }),
             "unknown dataset 'nope': known datasets are mnist");
}

}  // namespace
}  // namespace convkit::data
