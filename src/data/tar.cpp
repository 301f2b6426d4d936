// Tar archives (see tar.h). A tar stream is a sequence of 512-byte blocks: for each entry a
// header block (name @0[100], size @124[12] in octal or GNU base-256, checksum @148[8], type
// @156, magic @257[6] "ustar", prefix @345[155] for POSIX names), then the data padded to a whole
// block; the archive ends with zero blocks. GNU 'L' entries and pax 'x' records carry the name of
// the entry that follows. TarParser consumes the stream in any piece sizes; gzip is inflated with
// zlib as it is read.
#include "data/tar.h"
#include "data/gzip.h"

#include <convkit/util/error.h>

#include <zlib.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstring>
#include <memory>
#include <optional>

namespace convkit::data::detail {

namespace {

constexpr std::size_t kBlock = 512;
constexpr std::size_t kPiece = 1 << 20;               // bytes read or inflated at a time
constexpr std::uint64_t kMaxNameRecord = 1ull << 20;  // a long name or pax header: at most 1 MiB

std::string field_text(const std::uint8_t* p, std::size_t n) {
  const auto* end = static_cast<const std::uint8_t*>(std::memchr(p, 0, n));
  return std::string(reinterpret_cast<const char*>(p), end ? std::size_t(end - p) : n);
}

std::string strip_dot_slash(std::string name) {
  while (name.starts_with("./")) name.erase(0, 2);
  return name;
}

class TarParser {
 public:
  TarParser(std::string file, const std::function<bool(const std::string&)>& want)
      : file_(std::move(file)), want_(want) {}

  void feed(const std::uint8_t* p, std::size_t n) {
    while (n > 0) {
      std::size_t take = 0;
      switch (state_) {
        case State::ended:  // after the end-of-archive block only padding follows; tar ignores it
          offset_ += n;
          return;
        case State::header:
          take = std::min(n, kBlock - header_fill_);
          std::memcpy(header_.data() + header_fill_, p, take);
          header_fill_ += take;
          offset_ += take;
          if (header_fill_ == kBlock) {
            header_fill_ = 0;
            on_header();
          }
          break;
        case State::data:
          take = std::size_t(std::min<std::uint64_t>(n, remaining_));
          if (kind_ != Kind::skip) buffer_.insert(buffer_.end(), p, p + take);
          remaining_ -= take;
          offset_ += take;
          if (remaining_ == 0) end_member();
          break;
        case State::padding:
          take = std::size_t(std::min<std::uint64_t>(n, remaining_));
          remaining_ -= take;
          offset_ += take;
          if (remaining_ == 0) state_ = State::header;
          break;
      }
      p += take;
      n -= take;
    }
  }

  // At the end of the stream: complete entries only (a missing end-of-archive block is accepted,
  // as tar does; a cut header or member is not).
  std::vector<TarMember> finish() {
    if (state_ == State::header && header_fill_ > 0)
      fail(
          "{}: truncated at byte {}: the tar header starting at byte {} is incomplete: expected {}",
          file_, offset_, offset_ - header_fill_, "512 bytes");
    if (state_ == State::data)
      fail(
          "{}: truncated at byte {}: member {} (header at byte {}) holds {} bytes: expected {} "
          "more",
          file_, offset_, member_, member_header_, member_size_, remaining_);
    if (offset_ == 0) fail("{}: empty: expected a tar archive", file_);
    return std::move(members_);
  }

 private:
  enum class State { header, data, padding, ended };
  enum class Kind { skip, keep, long_name, pax };

  void on_header() {
    const std::uint8_t* h = header_.data();
    const std::uint64_t at = offset_ - kBlock;
    if (std::all_of(h, h + kBlock, [](std::uint8_t b) { return b == 0; })) {
      state_ = State::ended;
      return;
    }
    std::uint64_t stored = number(h + 148, 8, at + 148, "checksum");
    std::uint64_t sum = 0;
    std::int64_t signed_sum = 0;  // some old tars summed signed chars
    for (std::size_t i = 0; i < kBlock; ++i) {
      std::uint8_t b = (i >= 148 && i < 156) ? ' ' : h[i];
      sum += b;
      signed_sum += static_cast<signed char>(b);
    }
    if (stored != sum && std::int64_t(stored) != signed_sum)
      fail(
          "{}: bad tar header at byte {}: checksum {} stored, {} computed: expected a tar header "
          "(the archive is corrupt or not a tar file)",
          file_, at, stored, sum);
    member_size_ = number(h + 124, 12, at + 124, "size");
    member_header_ = at;
    const char type = static_cast<char>(h[156]);
    if (!next_name_.empty()) {
      member_ = std::move(next_name_);
      next_name_.clear();
    } else {
      member_ = field_text(h, 100);
      // POSIX ustar ("ustar\0") prefixes long paths; GNU tar ("ustar  ") keeps other data there.
      if (std::memcmp(h + 257, "ustar\0", 6) == 0 && h[345] != 0)
        member_ = field_text(h + 345, 155) + "/" + member_;
    }
    member_ = strip_dot_slash(member_);
    kind_ = Kind::skip;
    if (type == '0' || type == '\0' || type == '7') {
      if (!member_.ends_with('/') && want_(member_)) kind_ = Kind::keep;
    } else if (type == 'L' || type == 'x') {
      kind_ = type == 'L' ? Kind::long_name : Kind::pax;
      if (member_size_ > kMaxNameRecord)
        fail("{}: tar header at byte {} announces a {}-byte {} record: expected at most {} bytes",
             file_, at, member_size_, type == 'L' ? "long-name" : "pax", kMaxNameRecord);
    }
    buffer_.clear();
    // The size is only a promise: reserve at most 256 MiB up front, so a damaged header cannot
    // demand a huge allocation before the data (or its absence) shows.
    if (kind_ != Kind::skip)
      buffer_.reserve(std::size_t(std::min<std::uint64_t>(member_size_, 1ull << 28)));
    remaining_ = member_size_;
    if (remaining_ == 0)
      end_member();
    else
      state_ = State::data;
  }

  void end_member() {
    switch (kind_) {
      case Kind::keep:
        members_.push_back(TarMember{member_, std::move(buffer_)});
        buffer_ = {};
        break;
      case Kind::long_name:
        next_name_ = field_text(buffer_.data(), buffer_.size());
        break;
      case Kind::pax:
        parse_pax();
        break;
      case Kind::skip:
        break;
    }
    remaining_ = (kBlock - member_size_ % kBlock) % kBlock;
    state_ = remaining_ ? State::padding : State::header;
  }

  // pax records: "<length> <key>=<value>\n", the length counting the whole record.
  void parse_pax() {
    const std::uint64_t base = member_header_ + kBlock;
    std::size_t pos = 0;
    while (pos < buffer_.size()) {
      std::size_t len = 0, i = pos;
      while (i < buffer_.size() && buffer_[i] >= '0' && buffer_[i] <= '9' && len < kMaxNameRecord)
        len = len * 10 + (buffer_[i++] - '0');
      if (i == pos || i >= buffer_.size() || buffer_[i] != ' ' || len <= i - pos + 1 ||
          pos + len > buffer_.size() || buffer_[pos + len - 1] != '\n')
        fail("{}: malformed pax record at byte {}: expected \"<length> <key>=<value>\\n\"", file_,
             base + pos);
      std::string record(buffer_.begin() + std::ptrdiff_t(i + 1),
                         buffer_.begin() + std::ptrdiff_t(pos + len - 1));
      if (record.starts_with("path=")) next_name_ = record.substr(5);
      pos += len;
    }
  }

  // An octal field (NUL- or space-terminated, leading spaces allowed; empty reads as 0) or GNU
  // base-256 (first byte with the high bit set, the rest big-endian).
  std::uint64_t number(const std::uint8_t* p, std::size_t n, std::uint64_t at, const char* what) {
    if (p[0] & 0x80) {
      if (p[0] != 0x80)
        fail("{}: negative or oversized base-256 {} field at byte {}: expected a size", file_, what,
             at);
      std::uint64_t v = 0;
      for (std::size_t i = 1; i < n; ++i) {
        if (v >> 55) fail("{}: {} field at byte {} is too large", file_, what, at);
        v = v << 8 | p[i];
      }
      return v;
    }
    std::size_t i = 0;
    while (i < n && p[i] == ' ') ++i;
    std::uint64_t v = 0;
    for (; i < n && p[i] >= '0' && p[i] <= '7'; ++i) v = v * 8 + (p[i] - '0');
    if (i < n && p[i] != ' ' && p[i] != 0)
      fail("{}: {} field at byte {} is not an octal number: expected a tar header", file_, what,
           at);
    return v;
  }

  std::string file_;
  const std::function<bool(const std::string&)>& want_;
  State state_ = State::header;
  std::array<std::uint8_t, kBlock> header_{};
  std::size_t header_fill_ = 0;
  std::uint64_t offset_ = 0;     // bytes of the tar stream consumed
  std::uint64_t remaining_ = 0;  // data or padding bytes left in the current state
  Kind kind_ = Kind::skip;
  std::string member_, next_name_;
  std::uint64_t member_size_ = 0, member_header_ = 0;
  std::vector<std::uint8_t> buffer_;
  std::vector<TarMember> members_;
};

struct FileCloser {
  void operator()(std::FILE* f) const { std::fclose(f); }
};
using File = std::unique_ptr<std::FILE, FileCloser>;

struct Inflater {
  z_stream zs{};
  bool live = false;
  ~Inflater() {
    if (live) inflateEnd(&zs);
  }
};

}  // namespace

std::vector<TarMember> read_tar(const std::filesystem::path& path,
                                const std::function<bool(const std::string&)>& want) {
  const std::string file = path.string();
  File f(std::fopen(path.c_str(), "rb"));
  if (!f) fail("{}: cannot open: {}", file, std::strerror(errno));
  TarParser tar(file, want);
  std::vector<std::uint8_t> in(kPiece), out;
  std::optional<Inflater> gz;
  bool stream_ended = false;     // gzip: the current member's end was reached
  std::uint64_t compressed = 0;  // gzip: compressed bytes consumed before `in`
  for (;;) {
    std::size_t n = std::fread(in.data(), 1, in.size(), f.get());
    if (n == 0) {
      if (std::ferror(f.get())) fail("{}: read error: {}", file, std::strerror(errno));
      break;
    }
    if (!gz && compressed == 0 && n >= 2 && in[0] == 0x1f && in[1] == 0x8b) {
      gz.emplace();
      if (inflateInit2(&gz->zs, 15 + 16) != Z_OK) fail("{}: cannot initialize zlib", file);
      gz->live = true;
      out.resize(kPiece);
    }
    if (!gz) {
      tar.feed(in.data(), n);
      compressed += n;  // counts bytes read so a later piece never looks like a gzip start
      continue;
    }
    z_stream& zs = gz->zs;
    zs.next_in = in.data();
    zs.avail_in = static_cast<uInt>(n);
    auto at = [&] { return compressed + (n - zs.avail_in); };
    for (;;) {
      if (stream_ended) {  // more input after a gzip member: another member must follow
        if (zs.next_in[0] != 0x1f)
          fail(
              "{}: {} trailing bytes at compressed byte {} after the gzip stream: expected another "
              "gzip member or the end of the file",
              file, zs.avail_in, at());
        inflateReset(&zs);
        stream_ended = false;
      }
      zs.next_out = out.data();
      zs.avail_out = static_cast<uInt>(out.size());
      int ret = inflate(&zs, Z_NO_FLUSH);
      tar.feed(out.data(), out.size() - zs.avail_out);
      if (ret == Z_STREAM_END) {
        stream_ended = true;
        if (zs.avail_in == 0) break;
        continue;
      }
      if (ret != Z_OK && ret != Z_BUF_ERROR)
        fail("{}: corrupt gzip stream at compressed byte {}: {} (zlib error {})", file, at(),
             zs.msg ? zs.msg : "unknown zlib error", ret);
      if (zs.avail_in == 0 && zs.avail_out != 0) break;  // all input used, no output pending
    }
    compressed += n;
  }
  if (gz && !stream_ended)
    fail("{}: gzip stream is truncated at compressed byte {}: expected more compressed data", file,
         compressed);
  return tar.finish();
}

namespace {

void put_octal(std::uint8_t* p, std::size_t n, std::uint64_t v) {
  // n - 1 octal digits, zero-padded, then NUL.
  for (std::size_t i = n - 1; i-- > 0; v >>= 3) p[i] = std::uint8_t('0' + (v & 7));
  p[n - 1] = 0;
}

}  // namespace

void write_tar(const std::filesystem::path& path, const std::vector<TarMember>& members,
               bool compress) {
  const std::string file = path.string();
  std::vector<std::uint8_t> tar;
  for (const TarMember& m : members) {
    const bool dir = m.name.ends_with('/');
    if (m.name.empty() || m.name.size() > 100)
      fail("write_tar {}: member name '{}' must have 1 to 100 bytes", file, m.name);
    if (dir && !m.data.empty())
      fail("write_tar {}: directory entry '{}' cannot hold data", file, m.name);
    std::array<std::uint8_t, kBlock> h{};
    std::memcpy(h.data(), m.name.data(), m.name.size());
    put_octal(h.data() + 100, 8, dir ? 0755 : 0644);
    put_octal(h.data() + 108, 8, 0);
    put_octal(h.data() + 116, 8, 0);
    put_octal(h.data() + 124, 12, m.data.size());
    put_octal(h.data() + 136, 12, 0);
    h[156] = dir ? '5' : '0';
    std::memcpy(h.data() + 257,
                "ustar\0"
                "00",
                8);
    std::memset(h.data() + 148, ' ', 8);
    unsigned sum = 0;
    for (std::uint8_t b : h) sum += b;
    put_octal(h.data() + 148, 7, sum);  // six digits, NUL, and the space already there
    tar.insert(tar.end(), h.begin(), h.end());
    tar.insert(tar.end(), m.data.begin(), m.data.end());
    tar.resize((tar.size() + kBlock - 1) / kBlock * kBlock, 0);
  }
  tar.resize(tar.size() + 2 * kBlock, 0);               // the end-of-archive blocks
  tar.resize((tar.size() + 10239) / 10240 * 10240, 0);  // whole 10 KiB records, as tar writes
  if (compress) tar = gzip_bytes(file, tar);
  File f(std::fopen(path.c_str(), "wb"));
  if (!f) fail("{}: cannot create: {}", file, std::strerror(errno));
  if (std::fwrite(tar.data(), 1, tar.size(), f.get()) != tar.size() || std::fflush(f.get()) != 0)
    fail("{}: write failed: {}", file, std::strerror(errno));
}

}  // namespace convkit::data::detail
