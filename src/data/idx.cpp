// IDX files (LeCun's MNIST format), raw or gzip: a big-endian header (magic 0x0000TTDD: TT the
// element type, DD the number of dimensions; then DD 32-bit sizes) followed by the elements.
// We read unsigned-byte images (3 dims: N, H, W) and labels (1 dim: N) and validate everything,
// reporting the file, the byte offset (in the uncompressed stream) and what was expected.
#include <convkit/data/dataset.h>

#include "data/gzip.h"

#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <fstream>
#include <string>

namespace convkit::data {

namespace {

constexpr std::uint32_t kImagesMagic = 0x00000803;
constexpr std::uint32_t kLabelsMagic = 0x00000801;
constexpr std::uint8_t kUnsignedByte = 0x08;

std::vector<std::uint8_t> read_bytes(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) fail("{}: cannot open: {}", path.string(), std::strerror(errno));
  std::streamoff size = in.tellg();
  if (size < 0) fail("{}: cannot determine the file size", path.string());
  std::vector<std::uint8_t> bytes(static_cast<std::size_t>(size));
  in.seekg(0);
  if (size > 0 && !in.read(reinterpret_cast<char*>(bytes.data()), size))
    fail("{}: read error after byte {}", path.string(), in.gcount());
  return bytes;
}

bool is_gzip(const std::vector<std::uint8_t>& bytes) {
  return bytes.size() >= 2 && bytes[0] == 0x1f && bytes[1] == 0x8b;
}

// Inflates a whole gzip file (several concatenated members are allowed, as gunzip does).
std::vector<std::uint8_t> gunzip(const std::string& file, const std::vector<std::uint8_t>& in) {
  std::vector<std::uint8_t> out;
  if (in.size() >= 18) {
    // ISIZE (the last 4 bytes, little-endian) is the uncompressed size mod 2^32: a size hint,
    // capped by deflate's best ratio (~1032:1) so a damaged trailer cannot force a huge reserve.
    std::size_t n = in.size();
    std::uint64_t isize = std::uint64_t(in[n - 4]) | std::uint64_t(in[n - 3]) << 8 |
                          std::uint64_t(in[n - 2]) << 16 | std::uint64_t(in[n - 1]) << 24;
    out.reserve(static_cast<std::size_t>(std::min<std::uint64_t>(isize, 1032ull * n + 1024)));
  }
  z_stream zs{};
  if (inflateInit2(&zs, 15 + 16) != Z_OK) fail("{}: cannot initialize zlib", file);
  const std::uint8_t* next = in.data();
  const std::uint8_t* end = in.data() + in.size();
  std::size_t produced = 0;
  auto offset = [&] { return static_cast<std::size_t>(zs.next_in - in.data()); };
  for (;;) {
    if (produced == out.size())
      out.resize(std::max<std::size_t>(out.capacity(), 2 * out.size() + 65536));
    zs.next_in = const_cast<Bytef*>(next);
    zs.avail_in = static_cast<uInt>(std::min<std::size_t>(end - next, 1u << 30));
    zs.next_out = out.data() + produced;
    zs.avail_out = static_cast<uInt>(std::min<std::size_t>(out.size() - produced, 1u << 30));
    int ret = inflate(&zs, Z_NO_FLUSH);
    produced = static_cast<std::size_t>(zs.next_out - out.data());
    next = zs.next_in;
    if (ret == Z_STREAM_END) {
      if (next == end) break;
      if (end - next >= 2 && next[0] == 0x1f && next[1] == 0x8b) {  // another gzip member
        inflateReset(&zs);
        continue;
      }
      std::size_t at = offset();
      inflateEnd(&zs);
      fail(
          "{}: {} trailing bytes after the gzip stream ends at compressed byte {}: expected the "
          "end of the file",
          file, in.size() - at, at);
    }
    if (ret == Z_OK) continue;
    if (ret == Z_BUF_ERROR && next == end) {
      std::size_t at = offset();
      inflateEnd(&zs);
      fail(
          "{}: gzip stream is truncated at compressed byte {} (after {} uncompressed bytes): "
          "expected more compressed data",
          file, at, produced);
    }
    if (ret == Z_BUF_ERROR) continue;  // output full: grow and retry
    std::string msg = zs.msg ? zs.msg : "unknown zlib error";
    std::size_t at = offset();
    inflateEnd(&zs);
    fail("{}: corrupt gzip stream at compressed byte {}: {} (zlib error {})", file, at, msg, ret);
  }
  inflateEnd(&zs);
  out.resize(produced);
  return out;
}

std::string_view type_name(std::uint8_t t) {
  switch (t) {
    case 0x08:
      return "unsigned byte";
    case 0x09:
      return "signed byte";
    case 0x0B:
      return "16-bit integer";
    case 0x0C:
      return "32-bit integer";
    case 0x0D:
      return "32-bit float";
    case 0x0E:
      return "64-bit float";
  }
  return "unknown type";
}

std::uint32_t be32(const std::uint8_t* p) {
  return std::uint32_t(p[0]) << 24 | std::uint32_t(p[1]) << 16 | std::uint32_t(p[2]) << 8 | p[3];
}

// A validated IDX file: its dims and its unsigned-byte elements.
struct Idx {
  std::vector<std::int64_t> dims;
  std::vector<std::uint8_t> bytes;  // the whole uncompressed file
  std::size_t header = 0;           // where the elements start
};

Idx load(const std::filesystem::path& path, std::uint32_t want_magic) {
  const std::string file = path.string();
  const int want_dims = int(want_magic & 0xff);
  const bool images = want_magic == kImagesMagic;
  const char* kind = images ? "images" : "labels";
  const char* unit = images ? "pixel" : "label";
  Idx idx;
  idx.bytes = read_bytes(path);
  if (idx.bytes.empty())
    fail("{}: file is empty (0 bytes): expected an IDX {} file starting with magic 0x{:08X}", file,
         kind, want_magic);
  if (is_gzip(idx.bytes)) idx.bytes = gunzip(file, idx.bytes);
  const auto& b = idx.bytes;
  if (b.size() < 4)
    fail("{}: truncated at byte {} of 4: expected the IDX magic 0x{:08X}", file, b.size(),
         want_magic);
  std::uint32_t magic = be32(b.data());
  if (b[0] != 0 || b[1] != 0)
    fail("{}: bad magic 0x{:08X} at byte 0: expected 0x{:08X} (an IDX {} file)", file, magic,
         want_magic, kind);
  if (b[2] != kUnsignedByte)
    fail(
        "{}: element type 0x{:02X} ({}) at byte 2 is not supported: expected 0x08 (unsigned "
        "byte)",
        file, b[2], type_name(b[2]));
  if (b[3] != want_dims) {
    if (magic == kLabelsMagic || magic == kImagesMagic)
      fail(
          "{}: magic 0x{:08X} at byte 0 marks an IDX {} file: expected an IDX {} file (magic "
          "0x{:08X})",
          file, magic, images ? "labels" : "images", kind, want_magic);
    fail("{}: byte 3 gives {} dimensions: expected {} (an IDX {} file, magic 0x{:08X})", file, b[3],
         want_dims, kind, want_magic);
  }
  idx.header = 4 + 4 * std::size_t(want_dims);
  if (b.size() < idx.header)
    fail("{}: truncated at byte {} of {}: expected a {}-byte header (magic and {} dimension sizes)",
         file, b.size(), idx.header, idx.header, want_dims);
  unsigned __int128 count = 1;
  std::string shape;
  for (int i = 0; i < want_dims; ++i) {
    std::uint32_t d = be32(b.data() + 4 + 4 * i);
    if (d == 0)
      fail("{}: dimension {} at byte {} is 0: expected a positive size", file, i, 4 + 4 * i);
    idx.dims.push_back(d);
    count *= d;
    shape += (i ? "x" : "") + std::to_string(d);
  }
  unsigned __int128 total = count + idx.header;
  if (total > (unsigned __int128)(1) << 48)
    fail("{}: dimensions {} ({} bytes) are implausibly large", file, shape, std::uint64_t(count));
  if (b.size() < total)
    fail("{}: truncated at byte {} of {}: expected {} {} bytes", file, b.size(),
         std::uint64_t(total), shape, unit);
  if (b.size() > total)
    fail("{}: {} trailing bytes after byte {}: expected exactly {} bytes (header and {} {} bytes)",
         file, b.size() - std::size_t(total), std::uint64_t(total), std::uint64_t(total), shape,
         unit);
  return idx;
}

void write_file(const std::filesystem::path& path, std::vector<std::uint8_t> bytes, bool gzip) {
  if (gzip) bytes = gzip_bytes(path.string(), bytes);
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) fail("{}: cannot create: {}", path.string(), std::strerror(errno));
  out.write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
  out.close();
  if (!out) fail("{}: write failed: {}", path.string(), std::strerror(errno));
}

void put_be32(std::vector<std::uint8_t>& out, std::uint32_t v) {
  for (int s = 24; s >= 0; s -= 8) out.push_back(std::uint8_t(v >> s));
}

}  // namespace

std::vector<std::uint8_t> gzip_bytes(const std::string& file, const std::vector<std::uint8_t>& in) {
  z_stream zs{};
  if (deflateInit2(&zs, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
    fail("{}: cannot initialize zlib", file);
  std::vector<std::uint8_t> out(deflateBound(&zs, in.size()));
  zs.next_in = const_cast<Bytef*>(in.data());
  zs.avail_in = static_cast<uInt>(in.size());
  zs.next_out = out.data();
  zs.avail_out = static_cast<uInt>(out.size());
  int ret = deflate(&zs, Z_FINISH);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  if (ret != Z_STREAM_END || in.size() > UINT_MAX) fail("{}: gzip compression failed", file);
  return out;
}

Tensor read_idx_images(const std::filesystem::path& path) {
  Idx idx = load(path, kImagesMagic);
  Tensor t = Tensor::empty({idx.dims[0], 1, idx.dims[1], idx.dims[2]}, DType::u8);
  std::memcpy(t.raw(), idx.bytes.data() + idx.header, t.nbytes());
  return t;
}

Tensor read_idx_labels(const std::filesystem::path& path) {
  Idx idx = load(path, kLabelsMagic);
  Tensor t = Tensor::empty({idx.dims[0]}, DType::i32);
  const std::uint8_t* src = idx.bytes.data() + idx.header;
  std::int32_t* dst = t.data<std::int32_t>();
  for (std::int64_t i = 0; i < idx.dims[0]; ++i) dst[i] = src[i];
  return t;
}

Dataset read_idx(const std::filesystem::path& images, const std::filesystem::path& labels,
                 std::optional<int> num_classes) {
  if (num_classes && (*num_classes < 1 || *num_classes > 256))
    fail("{}: num_classes {} is out of range: expected 1..256 for u8 labels", labels.string(),
         *num_classes);
  Dataset d;
  d.images = read_idx_images(images);
  d.labels = read_idx_labels(labels);
  if (d.images.dim(0) != d.labels.dim(0))
    fail("{} holds {} images but {} holds {} labels: expected equal counts (byte 4 of each file)",
         images.string(), d.images.dim(0), labels.string(), d.labels.dim(0));
  const std::int32_t* y = d.labels.data<std::int32_t>();
  std::int32_t max_label = *std::max_element(y, y + d.size());
  d.num_classes = num_classes.value_or(max_label + 1);
  for (std::int64_t i = 0; i < d.size(); ++i)
    if (y[i] >= d.num_classes)
      fail("{}: label {} at byte {} (sample {}) is out of range: expected labels in [0, {})",
           labels.string(), y[i], 8 + i, i, d.num_classes);
  for (int c = 0; c < d.num_classes; ++c) d.class_names.push_back(std::to_string(c));
  d.name = images.parent_path().filename().string();
  return d;
}

void write_idx(const Dataset& dataset, const std::filesystem::path& images,
               const std::filesystem::path& labels, bool gzip) {
  const Tensor& x = dataset.images;
  if (x.dtype() != DType::u8 || x.rank() != 4 || x.dim(1) != 1 || !x.is_contiguous())
    fail("write_idx {}: images must be contiguous u8 [N, 1, H, W], got {} {}", images.string(),
         name_of(x.dtype()), x.shape().str());
  if (dataset.labels.dtype() != DType::i32 || dataset.labels.numel() != x.dim(0))
    fail("write_idx {}: labels must be i32 [{}], got {} {}", labels.string(), x.dim(0),
         name_of(dataset.labels.dtype()), dataset.labels.shape().str());
  std::vector<std::uint8_t> out;
  out.reserve(16 + x.nbytes());
  put_be32(out, kImagesMagic);
  for (int i : {0, 2, 3}) put_be32(out, std::uint32_t(x.dim(i)));
  const auto* px = static_cast<const std::uint8_t*>(x.raw());
  out.insert(out.end(), px, px + x.nbytes());
  write_file(images, std::move(out), gzip);

  out.clear();
  put_be32(out, kLabelsMagic);
  put_be32(out, std::uint32_t(x.dim(0)));
  const std::int32_t* y = dataset.labels.data<std::int32_t>();
  for (std::int64_t i = 0; i < x.dim(0); ++i) {
    if (y[i] < 0 || y[i] > 255)
      fail("write_idx {}: label {} of sample {} does not fit an unsigned byte", labels.string(),
           y[i], i);
    out.push_back(std::uint8_t(y[i]));
  }
  write_file(labels, std::move(out), gzip);
}

}  // namespace convkit::data
