// IDX reading and writing: round trips (raw and gzip, detected by content), every kind of
// malformed file with the file name and byte offset in the message, and Dataset subset/split.
#include <convkit/data/dataset.h>

#include <gtest/gtest.h>

#include "data/data_test_util.h"

#include <algorithm>
#include <set>

namespace convkit::data {
namespace {

using namespace testing;

TEST(IdxTest, RoundTripRawAndGzip) {
  TempDir dir;
  Dataset d = synthetic(23, 1, 5, 4, 7);
  for (bool gz : {false, true}) {
    fs::path xi = dir / (gz ? "x.gz" : "x"), yi = dir / (gz ? "y.gz" : "y");
    write_idx(d, xi, yi, gz);
    Bytes head = read_bytes(xi);
    ASSERT_GE(head.size(), 4u);
    EXPECT_EQ(head[0] == 0x1f && head[1] == 0x8b, gz);
    if (!gz) EXPECT_EQ(head.size(), 16u + 23 * 5 * 4);
    Dataset r = read_idx(xi, yi);
    EXPECT_TRUE(same_data(d, r));
    EXPECT_EQ(r.images.shape(), (Shape{23, 1, 5, 4}));
    EXPECT_EQ(r.num_classes, 7);  // max label 6, inferred
    EXPECT_EQ(r.class_names.size(), 7u);
    EXPECT_EQ(r.size(), 23);
  }
}

TEST(IdxTest, CompressionIsDetectedByContentNotName) {
  TempDir dir;
  Dataset d = synthetic(4);
  write_idx(d, dir / "plain.gz", dir / "plain-labels.gz", false);  // raw, misleading name
  write_idx(d, dir / "packed", dir / "packed-labels", true);       // gzip, no extension
  EXPECT_TRUE(same_data(d, read_idx(dir / "plain.gz", dir / "plain-labels.gz")));
  EXPECT_TRUE(same_data(d, read_idx(dir / "packed", dir / "packed-labels")));
  // A hand-made stored-block gzip stream and a two-member stream are accepted too.
  Bytes raw = read_bytes(dir / "plain.gz");
  write_bytes(dir / "stored", gzip_stored(raw));
  EXPECT_TRUE(same_data(d, read_idx(dir / "stored", dir / "packed-labels")));
  Bytes half1(raw.begin(), raw.begin() + 10), half2(raw.begin() + 10, raw.end());
  Bytes two = gzip_stored(half1), second = gzip_stored(half2);
  two.insert(two.end(), second.begin(), second.end());
  write_bytes(dir / "two", two);
  EXPECT_TRUE(same_data(d, read_idx(dir / "two", dir / "packed-labels")));
}

TEST(IdxTest, ExplicitNumClasses) {
  TempDir dir;
  Dataset d = synthetic(6, 1, 2, 2, 3);
  write_idx(d, dir / "x", dir / "y");
  EXPECT_EQ(read_idx(dir / "x", dir / "y", 10).num_classes, 10);
  std::string e = error_of([&] { read_idx(dir / "x", dir / "y", 2); });
  // Sample 2 is the first with label 2; labels start at byte 8.
  EXPECT_HAS(e, (dir / "y").string());
  EXPECT_HAS(e, "label 2 at byte 10 (sample 2)");
  EXPECT_HAS(e, "[0, 2)");
}

// Writes `bytes` as images file `name` and returns the error of reading it.
std::string images_error(const TempDir& dir, const std::string& name, const Bytes& bytes) {
  write_bytes(dir / name, bytes);
  return error_of([&] { read_idx_images(dir / name); });
}

TEST(IdxTest, BadMagic) {
  TempDir dir;
  Bytes b = idx_bytes(0x08, {2, 3, 3}, 18);
  b[0] = 0x12;
  std::string e = images_error(dir, "bad-magic", b);
  EXPECT_HAS(e, (dir / "bad-magic").string());
  EXPECT_HAS(e, "bad magic 0x12000803 at byte 0");
  EXPECT_HAS(e, "expected 0x00000803");
}

TEST(IdxTest, WrongTypeByte) {
  TempDir dir;
  std::string e = images_error(dir, "floats", idx_bytes(0x0D, {2, 3, 3}, 72));
  EXPECT_HAS(e, (dir / "floats").string());
  EXPECT_HAS(e, "0x0D (32-bit float) at byte 2");
  EXPECT_HAS(e, "expected 0x08 (unsigned byte)");
}

TEST(IdxTest, TruncatedHeader) {
  TempDir dir;
  Bytes b = idx_bytes(0x08, {2, 3, 3}, 0);
  b.resize(10);
  std::string e = images_error(dir, "short", b);
  EXPECT_HAS(e, (dir / "short").string());
  EXPECT_HAS(e, "truncated at byte 10 of 16");
  b.resize(3);
  EXPECT_HAS(images_error(dir, "shorter", b), "truncated at byte 3 of 4");
}

TEST(IdxTest, TruncatedData) {
  TempDir dir;
  Bytes b = idx_bytes(0x08, {2, 3, 3}, 10);
  std::string e = images_error(dir, "cut", b);
  EXPECT_HAS(e, (dir / "cut").string());
  EXPECT_HAS(e, "truncated at byte 26 of 34: expected 2x3x3 pixel bytes");
  // The same inside gzip: offsets count uncompressed bytes.
  e = images_error(dir, "cut.gz", gzip_stored(b));
  EXPECT_HAS(
      e, (dir / "cut.gz").string() + ": truncated at byte 26 of 34: expected 2x3x3 pixel bytes");
  // Labels say "label bytes".
  write_bytes(dir / "labels", idx_bytes(0x08, {5}, 2));
  e = error_of([&] { read_idx_labels(dir / "labels"); });
  EXPECT_HAS(e, "truncated at byte 10 of 13: expected 5 label bytes");
}

TEST(IdxTest, TrailingBytes) {
  TempDir dir;
  std::string e = images_error(dir, "long", idx_bytes(0x08, {2, 3, 3}, 21));
  EXPECT_HAS(e, (dir / "long").string());
  EXPECT_HAS(e, "3 trailing bytes after byte 34");
  EXPECT_HAS(e, "expected exactly 34 bytes");
}

TEST(IdxTest, ZeroDimension) {
  TempDir dir;
  std::string e = images_error(dir, "zero", idx_bytes(0x08, {2, 0, 3}, 0));
  EXPECT_HAS(e, "dimension 1 at byte 8 is 0");
}

TEST(IdxTest, EmptyFile) {
  TempDir dir;
  std::string e = images_error(dir, "empty", {});
  EXPECT_HAS(e, (dir / "empty").string());
  EXPECT_HAS(e, "file is empty");
  EXPECT_HAS(e, "0x00000803");
}

TEST(IdxTest, MissingFile) {
  TempDir dir;
  std::string e = error_of([&] { read_idx_images(dir / "nope"); });
  EXPECT_HAS(e, (dir / "nope").string());
  EXPECT_HAS(e, "cannot open");
}

TEST(IdxTest, LabelsGivenAsImagesAndViceVersa) {
  TempDir dir;
  write_idx(synthetic(3), dir / "x", dir / "y");
  std::string e = error_of([&] { read_idx(dir / "y", dir / "y"); });
  EXPECT_HAS(e, (dir / "y").string());
  EXPECT_HAS(e, "magic 0x00000801 at byte 0 marks an IDX labels file");
  EXPECT_HAS(e, "expected an IDX images file (magic 0x00000803)");
  e = error_of([&] { read_idx(dir / "x", dir / "x"); });
  EXPECT_HAS(e, "marks an IDX images file: expected an IDX labels file (magic 0x00000801)");
}

TEST(IdxTest, CountMismatch) {
  TempDir dir;
  write_idx(synthetic(2), dir / "x2", dir / "y2");
  write_idx(synthetic(3), dir / "x3", dir / "y3");
  std::string e = error_of([&] { read_idx(dir / "x2", dir / "y3"); });
  EXPECT_HAS(e, (dir / "x2").string() + " holds 2 images");
  EXPECT_HAS(e, (dir / "y3").string() + " holds 3 labels");
}

TEST(IdxTest, CorruptGzip) {
  TempDir dir;
  Bytes raw = idx_bytes(0x08, {2, 3, 3}, 18);
  Bytes gz = gzip_stored(raw);
  Bytes bad_crc = gz;
  bad_crc[gz.size() - 6] ^= 0xff;  // inside the CRC-32 trailer
  std::string e = images_error(dir, "crc.gz", bad_crc);
  EXPECT_HAS(e, (dir / "crc.gz").string());
  EXPECT_HAS(e, "corrupt gzip stream at compressed byte");
  EXPECT_HAS(e, "incorrect data check");
  Bytes bad_method = gz;
  bad_method[2] = 7;  // compression method must be 8 (deflate); zlib notices after 4 bytes
  e = images_error(dir, "method.gz", bad_method);
  EXPECT_HAS(e, "corrupt gzip stream at compressed byte 4: unknown compression method");
  Bytes bad_block = gz;
  bad_block[13] ^= 0x55;  // NLEN no longer complements LEN
  EXPECT_HAS(images_error(dir, "block.gz", bad_block), "corrupt gzip stream");
  Bytes cut(gz.begin(), gz.begin() + 30);
  e = images_error(dir, "cut.gz", cut);
  EXPECT_HAS(e, (dir / "cut.gz").string());
  EXPECT_HAS(e, "gzip stream is truncated at compressed byte 30");
  Bytes trailing = gz;
  trailing.push_back(0);
  trailing.push_back(1);
  EXPECT_HAS(images_error(dir, "tail.gz", trailing), "2 trailing bytes after the gzip stream");
}

TEST(DatasetTest, Subset) {
  Dataset d = synthetic(10, 1, 2, 2, 4);
  std::vector<std::int64_t> idx = {7, 2, 2};
  Dataset s = d.subset(idx);
  ASSERT_EQ(s.size(), 3);
  EXPECT_EQ(s.num_classes, 4);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(s.labels.data<std::int32_t>()[i], d.labels.data<std::int32_t>()[idx[i]]);
    for (int j = 0; j < 4; ++j)
      EXPECT_EQ(s.images.data<std::uint8_t>()[i * 4 + j],
                d.images.data<std::uint8_t>()[idx[i] * 4 + j]);
  }
  std::vector<std::int64_t> bad = {10};
  EXPECT_HAS(error_of([&] { d.subset(bad); }), "subset index 10 (position 0) is out of range");
}

TEST(DatasetTest, SplitIsSeededAndDisjoint) {
  Dataset d = synthetic(101, 1, 1, 1, 3);
  // Pixels identify samples here: 37 * i mod 256 is distinct for i < 256.
  auto ids = [](const Dataset& p) {
    std::vector<int> v;
    for (std::int64_t i = 0; i < p.size(); ++i) v.push_back(p.images.data<std::uint8_t>()[i]);
    return v;
  };
  auto [train, val] = d.split(0.2, 5);
  EXPECT_EQ(val.size(), 20);  // round(0.2 * 101)
  EXPECT_EQ(train.size(), 81);
  std::set<int> all;
  for (int v : ids(train)) all.insert(v);
  for (int v : ids(val)) all.insert(v);
  EXPECT_EQ(all.size(), 101u);
  auto [train2, val2] = d.split(0.2, 5);
  EXPECT_EQ(ids(val), ids(val2));
  auto [train3, val3] = d.split(0.2, 6);
  EXPECT_NE(ids(val), ids(val3));
  EXPECT_HAS(error_of([&] { d.split(0.0, 1); }), "split fraction 0 is out of range");
  EXPECT_HAS(error_of([&] { d.split(1.0, 1); }), "expected a value in (0, 1)");
  EXPECT_HAS(error_of([&] { synthetic(2).split(0.1, 1); }), "leaves an empty part");
}

TEST(DatasetTest, PermutationIsAPermutationAndKeyed) {
  std::vector<std::int64_t> a, b, c;
  random_permutation(1000, 1, a);
  random_permutation(1000, 1, b);
  random_permutation(1000, 2, c);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  std::vector<std::int64_t> sorted = a;
  std::sort(sorted.begin(), sorted.end());
  for (std::int64_t i = 0; i < 1000; ++i) EXPECT_EQ(sorted[i], i);
  // Roughly uniform: the first position takes each value about equally often.
  std::vector<int> first(10);
  for (std::uint64_t k = 0; k < 5000; ++k) {
    random_permutation(10, k, a);
    ++first[a[0]];
  }
  for (int n : first) EXPECT_NEAR(n, 500, 100);
}

TEST(DatasetTest, ChannelStats) {
  Dataset d;
  d.images = Tensor::empty({2, 2, 1, 2}, DType::u8);
  std::uint8_t px[] = {0, 255, 51, 51, 255, 255, 51, 102};  // ch0: 0 255 255 255; ch1: 51 51 51 102
  std::copy(px, px + 8, d.images.data<std::uint8_t>());
  ChannelStats s = channel_stats(d);
  ASSERT_EQ(s.mean.size(), 2u);
  EXPECT_NEAR(s.mean[0], 0.75, 1e-12);
  EXPECT_NEAR(s.std[0], std::sqrt(0.75 * 0.25), 1e-12);
  EXPECT_NEAR(s.mean[1], 0.25, 1e-12);
  EXPECT_NEAR(s.std[1], std::sqrt(3 * 0.05 * 0.05 + 0.15 * 0.15) / 2, 1e-12);
}

}  // namespace
}  // namespace convkit::data
