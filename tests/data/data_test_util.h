// Helpers shared by the data tests: temporary directories, environment overrides, synthetic
// datasets, hand-made IDX bytes and gzip streams (stored blocks, so no zlib is needed here).
#pragma once

#include <convkit/data/dataset.h>

#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <string>
#include <vector>

namespace convkit::data::testing {

namespace fs = std::filesystem;

// The Error message of `fn`, or "" when it does not throw.
template <typename F>
std::string error_of(F&& fn) {
  try {
    fn();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

#define EXPECT_HAS(text, part) EXPECT_NE((text).find(part), std::string::npos) << (text)
using Bytes = std::vector<std::uint8_t>;

// A fresh directory under the system temp dir, removed with everything in it.
struct TempDir {
  fs::path path;
  TempDir() {
    static int counter = 0;
    path = fs::temp_directory_path() /
           ("convkit-data-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  fs::path operator/(const std::string& name) const { return path / name; }
};

// Sets (or unsets, with nullopt) an environment variable for the guard's lifetime.
struct EnvGuard {
  std::string name;
  std::optional<std::string> old;
  EnvGuard(std::string n, std::optional<std::string> value) : name(std::move(n)) {
    if (const char* v = std::getenv(name.c_str())) old = v;
    if (value)
      ::setenv(name.c_str(), value->c_str(), 1);
    else
      ::unsetenv(name.c_str());
  }
  ~EnvGuard() {
    if (old)
      ::setenv(name.c_str(), old->c_str(), 1);
    else
      ::unsetenv(name.c_str());
  }
};

// n images of c x h x w with distinct, position-dependent pixels; label i % classes.
inline Dataset synthetic(std::int64_t n, std::int64_t c = 1, std::int64_t h = 4, std::int64_t w = 3,
                         int classes = 5, int salt = 0) {
  Dataset d;
  d.images = Tensor::empty({n, c, h, w}, DType::u8);
  d.labels = Tensor::empty({n}, DType::i32);
  auto* px = static_cast<std::uint8_t*>(d.images.raw());
  for (std::int64_t i = 0; i < d.images.numel(); ++i) px[i] = std::uint8_t((i * 37 + salt) % 256);
  for (std::int64_t i = 0; i < n; ++i) d.labels.data<std::int32_t>()[i] = std::int32_t(i % classes);
  d.num_classes = classes;
  for (int k = 0; k < classes; ++k) d.class_names.push_back(std::to_string(k));
  d.name = "synthetic";
  return d;
}

inline void write_bytes(const fs::path& path, const Bytes& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
}

inline Bytes read_bytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

inline void put_be32(Bytes& b, std::uint32_t v) {
  for (int s = 24; s >= 0; s -= 8) b.push_back(std::uint8_t(v >> s));
}

// An IDX file: magic 0x0000TTDD, the dims, then `payload` bytes of value 7.
inline Bytes idx_bytes(std::uint8_t type, std::vector<std::uint32_t> dims, std::size_t payload) {
  Bytes b = {0, 0, type, std::uint8_t(dims.size())};
  for (auto d : dims) put_be32(b, d);
  b.insert(b.end(), payload, 7);
  return b;
}

inline std::uint32_t crc32(const Bytes& data) {
  std::uint32_t crc = 0xffffffffu;
  for (std::uint8_t byte : data) {
    crc ^= byte;
    for (int k = 0; k < 8; ++k) crc = (crc >> 1) ^ (0xedb88320u & (0u - (crc & 1u)));
  }
  return ~crc;
}

// A valid gzip stream of `data` made of uncompressed (stored) deflate blocks.
inline Bytes gzip_stored(const Bytes& data) {
  Bytes g = {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3};
  std::size_t pos = 0;
  do {
    std::size_t len = std::min<std::size_t>(data.size() - pos, 65535);
    bool last = pos + len == data.size();
    g.push_back(last ? 1 : 0);
    g.push_back(std::uint8_t(len)), g.push_back(std::uint8_t(len >> 8));
    g.push_back(std::uint8_t(~len)), g.push_back(std::uint8_t(~len >> 8));
    g.insert(g.end(), data.begin() + std::ptrdiff_t(pos), data.begin() + std::ptrdiff_t(pos + len));
    pos += len;
  } while (pos < data.size());
  std::uint32_t crc = crc32(data), size = std::uint32_t(data.size());
  for (int s = 0; s < 32; s += 8) g.push_back(std::uint8_t(crc >> s));
  for (int s = 0; s < 32; s += 8) g.push_back(std::uint8_t(size >> s));
  return g;
}

inline bool same_data(const Dataset& a, const Dataset& b) {
  return a.images.shape() == b.images.shape() && a.labels.shape() == b.labels.shape() &&
         std::equal(static_cast<const std::uint8_t*>(a.images.raw()),
                    static_cast<const std::uint8_t*>(a.images.raw()) + a.images.nbytes(),
                    static_cast<const std::uint8_t*>(b.images.raw())) &&
         std::equal(a.labels.data<std::int32_t>(), a.labels.data<std::int32_t>() + a.size(),
                    b.labels.data<std::int32_t>());
}

// The shared MNIST/Fashion-MNIST folder: $CONVKIT_TEST_DATA, else ../shared/data from the
// repository root (the tests' working directory); nullopt when `sub` is not there.
inline std::optional<fs::path> shared_data(const std::string& sub) {
  const char* env = std::getenv("CONVKIT_TEST_DATA");
  fs::path root = env && *env ? fs::path(env) : fs::path("../shared/data");
  std::error_code ec;
  if (fs::is_directory(root / sub, ec)) return fs::absolute(root);
  return std::nullopt;
}

}  // namespace convkit::data::testing
