// Image folders and CSV lists as sources: classes and files in sorted order, train/val/test
// layouts, decoding on demand, and every bad input reported with its path (empty class folder,
// one class, zero-byte file, a file that is not an image, an unknown class, a bad CSV line).
#include <convkit/data/image_folder.h>
#include <convkit/io/png_writer.h>

#include <gtest/gtest.h>

#include "data/data_test_util.h"

namespace convkit::data {
namespace {

using testing::error_of;
using testing::TempDir;
namespace fs = std::filesystem;

// A PNG of c x h x w filled with `value`.
void png(const fs::path& path, std::int64_t c, std::int64_t h, std::int64_t w, int value) {
  fs::create_directories(path.parent_path());
  Tensor t = Tensor::empty({c, h, w}, DType::u8);
  std::memset(t.raw(), value, t.nbytes());
  io::write_png(path, t);
}

void text(const fs::path& path, const std::string& content) {
  fs::create_directories(path.parent_path());
  std::ofstream(path) << content;
}

TEST(ImageFolder, ClassesAndFilesInSortedOrder) {
  TempDir dir;
  png(dir.path / "dog" / "b.png", 3, 20, 30, 2);
  png(dir.path / "dog" / "a.png", 1, 10, 10, 1);
  png(dir.path / "cat" / "z.png", 3, 5, 7, 0);
  text(dir.path / "cat" / "notes.txt", "not an image, and ignored by its extension");
  auto src = scan_image_folder(dir.path);
  ASSERT_EQ(src->size(), 3);
  EXPECT_EQ(src->class_names(), (std::vector<std::string>{"cat", "dog"}));
  EXPECT_EQ(src->labels(), (std::vector<std::int32_t>{0, 1, 1}));
  EXPECT_EQ(fs::path(src->sample_name(1)).filename(), "a.png");
  const Tensor a = src->image(1), b = src->image(2);
  EXPECT_EQ(a.shape(), (Shape{1, 10, 10}));
  EXPECT_EQ(b.shape(), (Shape{3, 20, 30}));
  EXPECT_EQ(b.data<std::uint8_t>()[0], 2);
  EXPECT_FALSE(src->image_shape().has_value());
  EXPECT_EQ(src->class_counts(), (std::vector<std::int64_t>{1, 2}));
}

TEST(ImageFolder, TrainValTestLayout) {
  TempDir dir;
  for (const char* split : {"train", "val", "test"})
    for (const char* cls : {"a", "b"}) png(dir.path / split / cls / "x.png", 1, 4, 4, 9);
  auto splits = scan_image_folder_splits(dir.path);
  ASSERT_TRUE(splits.train && splits.validation && splits.test);
  EXPECT_EQ(splits.test->class_names(), splits.train->class_names());
  // A test folder may lack a class, but not add one.
  fs::remove_all(dir.path / "test" / "a");
  EXPECT_EQ(scan_image_folder_splits(dir.path).test->labels(), (std::vector<std::int32_t>{1}));
  png(dir.path / "test" / "c" / "x.png", 1, 4, 4, 9);
  EXPECT_HAS(error_of([&] { scan_image_folder_splits(dir.path); }),
             "class folder 'c' is not one of the training classes");
  // No train/: the root is the training folder.
  TempDir flat;
  png(flat.path / "a" / "1.png", 1, 4, 4, 0);
  png(flat.path / "b" / "1.png", 1, 4, 4, 0);
  auto only = scan_image_folder_splits(flat.path);
  EXPECT_EQ(only.train->size(), 2);
  EXPECT_FALSE(only.validation);
  EXPECT_FALSE(only.test);
}

TEST(ImageFolder, FolderMistakesNameTheFolder) {
  TempDir dir;
  EXPECT_HAS(error_of([&] { scan_image_folder(dir.path / "nope"); }), "no such folder");
  EXPECT_HAS(error_of([&] { scan_image_folder(dir.path); }), "no class folders");
  png(dir.path / "cat" / "1.png", 1, 4, 4, 0);
  EXPECT_HAS(error_of([&] { scan_image_folder(dir.path); }),
             "only one class folder ('cat'): a classifier needs at least two classes");
  fs::create_directories(dir.path / "dog");
  const std::string empty = error_of([&] { scan_image_folder(dir.path); });
  EXPECT_HAS(empty, (dir.path / "dog").string());
  EXPECT_HAS(empty, "class folder with no images");
}

TEST(ImageFolder, BadFilesFailOrAreSkippedWithTheirPath) {
  TempDir dir;
  png(dir.path / "a" / "1.png", 1, 4, 4, 0);
  png(dir.path / "b" / "1.png", 1, 4, 4, 0);
  text(dir.path / "b" / "empty.jpg", "");
  text(dir.path / "b" / "hello.png", "hello, world");
  const std::string zero = error_of([&] { scan_image_folder(dir.path); });
  EXPECT_HAS(zero, (dir.path / "b" / "empty.jpg").string() + ": empty file (0 bytes)");
  fs::remove(dir.path / "b" / "empty.jpg");
  const std::string junk = error_of([&] { scan_image_folder(dir.path); });
  EXPECT_HAS(junk, (dir.path / "b" / "hello.png").string() + ": not an image");
  EXPECT_HAS(junk, "starts with 'hell'");
  text(dir.path / "b" / "empty.jpg", "");
  auto src = scan_image_folder(dir.path, {.skip_bad_files = true});
  EXPECT_EQ(src->size(), 2);
  ASSERT_EQ(src->skipped().size(), 2u);
  EXPECT_HAS(src->skipped()[0], "empty.jpg: empty file");
  EXPECT_HAS(src->skipped()[1], "hello.png: not an image");
}

TEST(ImageFolder, CsvList) {
  TempDir dir;
  png(dir.path / "img" / "1.png", 1, 4, 4, 1);
  png(dir.path / "img" / "two, too.png", 3, 6, 6, 2);
  text(dir.path / "list.csv",
       "path,label\nimg/1.png,zebra\n\"img/two, too.png\" , apple\n\n# a comment\n");
  auto src = read_image_list(dir.path / "list.csv");
  ASSERT_EQ(src->size(), 2);
  EXPECT_EQ(src->class_names(), (std::vector<std::string>{"apple", "zebra"}));
  EXPECT_EQ(src->labels(), (std::vector<std::int32_t>{1, 0}));
  EXPECT_EQ(src->image(1).shape(), (Shape{3, 6, 6}));
  const std::vector<std::string> classes{"apple", "pear"};
  EXPECT_HAS(error_of([&] { read_image_list(dir.path / "list.csv", {}, &classes); }),
             "label 'zebra' of");
  text(dir.path / "bad.csv", "img/1.png,a\nimg/1.png\n");
  EXPECT_HAS(error_of([&] { read_image_list(dir.path / "bad.csv"); }),
             "bad.csv:2: expected `path,label`");
  text(dir.path / "one.csv", "img/1.png,a\n");
  EXPECT_HAS(error_of([&] { read_image_list(dir.path / "one.csv"); }), "only one class ('a')");
  text(dir.path / "missing.csv", "img/1.png,a\nimg/nope.png,b\n");
  EXPECT_HAS(error_of([&] { read_image_list(dir.path / "missing.csv"); }), "nope.png: cannot open");
}

TEST(ImageFolder, UnreadableAtDecodeTimeNamesTheFile) {
  TempDir dir;
  png(dir.path / "a" / "1.png", 1, 4, 4, 0);
  png(dir.path / "b" / "1.png", 1, 4, 4, 0);
  // A PNG signature followed by garbage passes the scan and fails when decoded.
  text(dir.path / "b" / "2.png", std::string("\x89PNG\r\n\x1a\n", 8) + "garbage");
  auto src = scan_image_folder(dir.path);
  EXPECT_HAS(error_of([&] { src->image(2); }), (dir.path / "b" / "2.png").string());
}

}  // namespace
}  // namespace convkit::data
