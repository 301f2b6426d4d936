// The decoded cache: built once (the same pixels as decoding into memory), reused while the
// source and geometry are unchanged (no image read), rebuilt when a file changes or the cache
// file is damaged, and a sample that cannot be read leaves no cache file behind.
#include <convkit/data/decoded_cache.h>
#include <convkit/data/image_folder.h>
#include <convkit/io/png_writer.h>

#include <gtest/gtest.h>

#include "data/data_test_util.h"
#include "support/counting_source.h"

#include <atomic>
#include <cstring>

namespace convkit::data {
namespace {

using testing::error_of;
using testing::TempDir;
namespace fs = std::filesystem;

void png(const fs::path& p, std::int64_t h, std::int64_t w, int value) {
  fs::create_directories(p.parent_path());
  Tensor t = Tensor::empty({3, h, w}, DType::u8);
  for (std::int64_t i = 0; i < t.numel(); ++i) t.data<std::uint8_t>()[i] = std::uint8_t(value + i);
  io::write_png(p, t);
}

TEST(DecodedCache, BuildsOnceAndMatchesDecodingIntoMemory) {
  TempDir dir;
  for (int i = 0; i < 6; ++i)
    png(dir.path / (i % 2 ? "b" : "a") / fmt::format("{}.png", i), 10 + i, 12, i * 9);
  const Geometry g{.channels = 3, .height = 8, .width = 8};
  const fs::path file = dir.path / "cache.u8";
  auto counting = std::make_shared<test::CountingSource>(scan_image_folder(dir.path));
  const Dataset first = decoded_cache(*counting, g, {.path = file, .threads = 2});
  EXPECT_EQ(counting->reads, 6);
  EXPECT_EQ(first.images.shape(), (Shape{6, 3, 8, 8}));
  const Dataset memory = to_dataset(*counting, g);
  EXPECT_EQ(0, std::memcmp(first.images.raw(), memory.images.raw(), memory.images.nbytes()));
  EXPECT_EQ(first.class_names, (std::vector<std::string>{"a", "b"}));
  counting->reads = 0;
  const Dataset again = decoded_cache(*counting, g, {.path = file});
  EXPECT_EQ(counting->reads, 0);  // the file is valid: nothing decoded
  EXPECT_EQ(0, std::memcmp(again.images.raw(), memory.images.raw(), memory.images.nbytes()));
  // Another geometry is another key: rebuilt.
  decoded_cache(*counting, Geometry{.channels = 1, .height = 8, .width = 8}, {.path = file});
  EXPECT_EQ(counting->reads, 6);
}

TEST(DecodedCache, RebuildsWhenAFileChangesOrTheCacheIsDamaged) {
  TempDir dir;
  for (int i = 0; i < 4; ++i)
    png(dir.path / (i % 2 ? "b" : "a") / fmt::format("{}.png", i), 9, 9, i);
  const Geometry g{.channels = 3, .height = 4, .width = 4};
  const fs::path file = dir.path / "cache.u8";
  decoded_cache(*scan_image_folder(dir.path), g, {.path = file});
  png(dir.path / "a" / "0.png", 20, 9, 200);  // new content and size
  auto counting = std::make_shared<test::CountingSource>(scan_image_folder(dir.path));
  const Dataset fresh = decoded_cache(*counting, g, {.path = file});
  EXPECT_EQ(counting->reads, 4);
  EXPECT_EQ(0, std::memcmp(fresh.images.raw(), to_dataset(*counting, g).images.raw(),
                           fresh.images.nbytes()));
  counting->reads = 0;
  fs::resize_file(file, fs::file_size(file) - 5);  // damaged
  decoded_cache(*counting, g, {.path = file});
  EXPECT_EQ(counting->reads, 4);
}

TEST(DecodedCache, AnUnreadableSampleLeavesNoFile) {
  TempDir dir;
  png(dir.path / "a" / "0.png", 9, 9, 0);
  png(dir.path / "b" / "1.png", 9, 9, 0);
  std::ofstream(dir.path / "b" / "2.png", std::ios::binary) << "\x89PNG\r\n\x1a\n"
                                                            << "junk";
  const fs::path file = dir.path / "cache.u8";
  const std::string message = error_of([&] {
    decoded_cache(*scan_image_folder(dir.path), Geometry{.channels = 3, .height = 4, .width = 4},
                  {.path = file});
  });
  EXPECT_HAS(message, "2.png");
  for (const auto& entry : fs::directory_iterator(dir.path))
    EXPECT_EQ(entry.path().extension(), "") << entry.path();  // no cache file, no temporary
}

}  // namespace
}  // namespace convkit::data
