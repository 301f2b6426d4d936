// The tar reader and writer (src/data/tar.h): round trips raw and gzip-compressed (members of 0,
// 512 and 513 bytes, one larger than the 1 MiB read piece), selection by name, archives made by
// GNU tar (ustar, GNU long names, pax) read back and ours read by GNU tar, and malformed input:
// truncated streams, a bad header checksum, corrupt gzip, an empty or non-tar file.
#include "data/tar.h"

#include <convkit/util/error.h>

#include <gtest/gtest.h>

#include <cstdlib>

#include "data/data_test_util.h"

namespace convkit::data {
namespace {

using namespace testing;
using detail::read_tar;
using detail::TarMember;
using detail::write_tar;

Bytes pattern(std::size_t n, int salt) {
  Bytes b(n);
  for (std::size_t i = 0; i < n; ++i) b[i] = std::uint8_t((i * 131 + i / 7 + salt) % 251);
  return b;
}

std::vector<TarMember> sample_members() {
  return {{"top/", {}},
          {"top/empty.bin", {}},
          {"top/block.bin", pattern(512, 1)},
          {"top/block_plus_one.bin", pattern(513, 2)},
          {"top/large.bin", pattern((3 << 20) + 17, 3)},  // crosses several 1 MiB pieces
          {"other.txt", {'h', 'i', '\n'}}};
}

auto all = [](const std::string&) { return true; };

void expect_files(const std::vector<TarMember>& got, const std::vector<TarMember>& want) {
  std::vector<TarMember> files;
  for (const TarMember& m : want)
    if (!m.name.ends_with('/')) files.push_back(m);  // directories are not returned
  ASSERT_EQ(got.size(), files.size());
  for (std::size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(got[i].name, files[i].name);
    EXPECT_TRUE(got[i].data == files[i].data) << got[i].name;
  }
}

bool have_gnu_tar() {
  return std::system("tar --version 2>/dev/null | grep -q 'GNU tar'") == 0;
}

TEST(TarTest, RoundTripRawAndGzip) {
  TempDir dir;
  for (bool gz : {false, true}) {
    fs::path file = dir / (gz ? "a.tar.gz" : "a.tar");
    write_tar(file, sample_members(), gz);
    Bytes bytes = read_bytes(file);
    EXPECT_EQ(gz, bytes[0] == 0x1f && bytes[1] == 0x8b);
    if (!gz) EXPECT_EQ(bytes.size() % 10240, 0u);
    expect_files(read_tar(file, all), sample_members());
  }
}

TEST(TarTest, KeepsOnlyWantedMembers) {
  TempDir dir;
  write_tar(dir / "a.tar.gz", sample_members(), true);
  auto got = read_tar(dir / "a.tar.gz",
                      [](const std::string& name) { return name.ends_with("plus_one.bin"); });
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].name, "top/block_plus_one.bin");
  EXPECT_EQ(got[0].data, pattern(513, 2));
}

TEST(TarTest, WriterChecksNames) {
  TempDir dir;
  EXPECT_HAS(error_of([&] {
               write_tar(dir / "a.tar", {{std::string(101, 'x'), {}}}, false);
             }),
             "must have 1 to 100 bytes");
  EXPECT_HAS(error_of([&] {
               write_tar(dir / "a.tar", {{"d/", {1}}}, false);
             }),
             "directory entry 'd/' cannot hold data");
}

TEST(TarTest, ReadsArchivesMadeByGnuTar) {
  if (!have_gnu_tar()) GTEST_SKIP() << "GNU tar is not installed";
  TempDir dir;
  const std::string long_name = std::string(120, 'n') + ".bin";  // needs 'L' (gnu) or 'x' (pax)
  fs::create_directories(dir / "src" / "folder");
  write_bytes(dir / "src" / "folder" / "a.bin", pattern(3000, 4));
  write_bytes(dir / "src" / "folder" / long_name, pattern(700, 5));
  for (const char* format : {"gnu", "pax", "ustar"}) {
    const bool long_ok = std::string(format) != "ustar";  // ustar cannot store a 125-byte name
    if (!long_ok) fs::remove(dir / "src" / "folder" / long_name);
    fs::path archive = dir / (std::string(format) + ".tar.gz");
    std::string cmd = "tar --format=" + std::string(format) + " -czf " + archive.string() + " -C " +
                      (dir / "src").string() + " ./folder";
    ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
    auto got = read_tar(archive, all);
    std::sort(got.begin(), got.end(), [](auto& a, auto& b) { return a.name < b.name; });
    ASSERT_EQ(got.size(), long_ok ? 2u : 1u) << format;
    EXPECT_EQ(got[0].name, "folder/a.bin") << format;  // the "./" is dropped
    EXPECT_EQ(got[0].data, pattern(3000, 4)) << format;
    if (long_ok) {
      EXPECT_EQ(got[1].name, "folder/" + long_name) << format;
      EXPECT_EQ(got[1].data, pattern(700, 5)) << format;
    }
  }
}

TEST(TarTest, GnuTarReadsOurArchives) {
  if (!have_gnu_tar()) GTEST_SKIP() << "GNU tar is not installed";
  TempDir dir;
  write_tar(dir / "a.tar.gz", sample_members(), true);
  fs::create_directories(dir / "out");
  std::string cmd = "tar -xzf " + (dir / "a.tar.gz").string() + " -C " + (dir / "out").string();
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  for (const TarMember& m : sample_members()) {
    if (m.name.ends_with('/'))
      EXPECT_TRUE(fs::is_directory(dir / "out" / m.name)) << m.name;
    else
      EXPECT_EQ(read_bytes(dir / "out" / m.name), m.data) << m.name;
  }
}

TEST(TarTest, TruncatedArchives) {
  TempDir dir;
  write_tar(dir / "a.tar", {{"x.bin", pattern(1000, 6)}}, false);
  Bytes tar = read_bytes(dir / "a.tar");
  write_bytes(dir / "cut.tar", Bytes(tar.begin(), tar.begin() + 700));
  EXPECT_HAS(error_of([&] { read_tar(dir / "cut.tar", all); }),
             (dir / "cut.tar").string() +
                 ": truncated at byte 700: member x.bin (header at byte 0) holds 1000 bytes: "
                 "expected 812 more");
  write_bytes(dir / "cut_header.tar", Bytes(tar.begin(), tar.begin() + 300));
  EXPECT_HAS(error_of([&] { read_tar(dir / "cut_header.tar", all); }),
             "truncated at byte 300: the tar header starting at byte 0 is incomplete");
  write_tar(dir / "a.tar.gz", {{"x.bin", pattern(1000, 6)}}, true);
  Bytes gz = read_bytes(dir / "a.tar.gz");
  gz.resize(gz.size() - 10);
  write_bytes(dir / "cut.tar.gz", gz);
  EXPECT_HAS(error_of([&] { read_tar(dir / "cut.tar.gz", all); }),
             (dir / "cut.tar.gz").string() + ": gzip stream is truncated at compressed byte " +
                 std::to_string(gz.size()));
}

TEST(TarTest, BadHeaderChecksum) {
  TempDir dir;
  write_tar(dir / "a.tar", {{"x.bin", pattern(10, 7)}}, false);
  Bytes tar = read_bytes(dir / "a.tar");
  tar[3] ^= 1;  // a byte of the name
  write_bytes(dir / "a.tar", tar);
  EXPECT_HAS(error_of([&] { read_tar(dir / "a.tar", all); }),
             (dir / "a.tar").string() + ": bad tar header at byte 0: checksum");
}

TEST(TarTest, CorruptGzipAndNonTarInput) {
  TempDir dir;
  write_tar(dir / "a.tar.gz", {{"x.bin", pattern(5000, 8)}}, true);
  Bytes gz = read_bytes(dir / "a.tar.gz");
  gz[gz.size() - 6] ^= 0xff;  // the CRC-32 in the trailer
  write_bytes(dir / "crc.tar.gz", gz);
  EXPECT_HAS(error_of([&] { read_tar(dir / "crc.tar.gz", all); }),
             (dir / "crc.tar.gz").string() + ": corrupt gzip stream at compressed byte");
  write_bytes(dir / "text.tar", Bytes(600, 'a'));
  EXPECT_HAS(error_of([&] { read_tar(dir / "text.tar", all); }),
             "checksum field at byte 148 is not an octal number: expected a tar header");
  write_bytes(dir / "empty.tar", {});
  EXPECT_HAS(error_of([&] { read_tar(dir / "empty.tar", all); }), "empty: expected a tar archive");
  EXPECT_HAS(error_of([&] { read_tar(dir / "nope.tar", all); }), "nope.tar: cannot open");
}

}  // namespace
}  // namespace convkit::data
