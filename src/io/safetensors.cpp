// safetensors container: validated reading, atomic writing, SHA-256 integrity (see the header).
#include "io/safetensors.h"

#include <fmt/format.h>
#include <openssl/evp.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstring>
#include <memory>
#include <set>
#include <tuple>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace convkit::io::safetensors {

static_assert(std::endian::native == std::endian::little, "safetensors data is little-endian");

namespace {

using Json = nlohmann::json;  // std::map keys: dump() is sorted, hence canonical

constexpr std::pair<DType, std::string_view> kDTypes[] = {
    {DType::f32, "F32"}, {DType::bf16, "BF16"}, {DType::u8, "U8"}, {DType::i32, "I32"}};

// Incremental SHA-256 over OpenSSL's EVP interface.
class Sha256 {
 public:
  Sha256() : ctx_(EVP_MD_CTX_new(), EVP_MD_CTX_free) {
    if (!ctx_ || EVP_DigestInit_ex(ctx_.get(), EVP_sha256(), nullptr) != 1)
      fail("SHA-256: OpenSSL init failed");
  }
  void update(const void* data, std::size_t n) {
    if (n > 0 && EVP_DigestUpdate(ctx_.get(), data, n) != 1) fail("SHA-256: OpenSSL update failed");
  }
  std::string hex() {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    if (EVP_DigestFinal_ex(ctx_.get(), digest, &n) != 1) fail("SHA-256: OpenSSL final failed");
    std::string out;
    for (unsigned int i = 0; i < n; ++i) out += fmt::format("{:02x}", digest[i]);
    return out;
  }

 private:
  std::unique_ptr<EVP_MD_CTX, void (*)(EVP_MD_CTX*)> ctx_;
};

std::string errno_text() {
  return std::strerror(errno);
}

void write_all(int fd, const void* data, std::size_t n, const std::string& path) {
  const auto* p = static_cast<const char*>(data);
  while (n > 0) {
    const ssize_t w = ::write(fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0) fail("cannot write {}: {}", path, errno_text());
    p += w;
    n -= static_cast<std::size_t>(w);
  }
}

// Removes the temp file unless commit() was reached (any exception on the way out).
class TempFile {
 public:
  explicit TempFile(std::string path) : path_(std::move(path)) {
    fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd_ < 0) fail("cannot create {}: {}", path_, errno_text());
  }
  ~TempFile() {
    if (fd_ >= 0) ::close(fd_);
    if (!committed_) ::unlink(path_.c_str());
  }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
  int fd() const { return fd_; }
  const std::string& path() const { return path_; }
  void close_synced() {
    if (::fsync(fd_) != 0) fail("cannot fsync {}: {}", path_, errno_text());
    const int fd = fd_;
    fd_ = -1;
    if (::close(fd) != 0) fail("cannot close {}: {}", path_, errno_text());
  }
  void commit() { committed_ = true; }

 private:
  std::string path_;
  int fd_ = -1;
  bool committed_ = false;
};

void fsync_directory(const std::filesystem::path& dir) {
  const std::string d = dir.empty() ? std::string(".") : dir.string();
  const int fd = ::open(d.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) fail("cannot open directory {} to fsync it: {}", d, errno_text());
  const int rc = ::fsync(fd);
  const std::string why = rc != 0 ? errno_text() : "";
  ::close(fd);
  if (rc != 0) fail("cannot fsync directory {}: {}", d, why);
}

std::vector<std::byte> read_whole_file(const std::filesystem::path& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) fail("{}: cannot open: {}", path.string(), errno_text());
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    fail("{}: not a regular file", path.string());
  }
  std::vector<std::byte> bytes(static_cast<std::size_t>(st.st_size));
  std::size_t got = 0;
  while (got < bytes.size()) {
    const ssize_t r = ::read(fd, bytes.data() + got, bytes.size() - got);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) {
      const std::string why = r < 0 ? errno_text() : "the file shrank while reading";
      ::close(fd);
      fail("{}: read failed at byte {}: {}", path.string(), got, why);
    }
    got += static_cast<std::size_t>(r);
  }
  ::close(fd);
  return bytes;
}

// nlohmann's parse message without its "[json.exception...] parse error at line 1, column N: "
// prefix, non-printable bytes (from a corrupt file) shown as '?'.
std::string parse_error_detail(std::string_view what) {
  if (const auto column = what.find("column "); column != std::string_view::npos)
    if (const auto colon = what.find(": ", column); colon != std::string_view::npos)
      what.remove_prefix(colon + 2);
  std::string out(what.substr(0, 200));
  for (char& c : out)
    if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x7f) c = '?';
  return out;
}

std::uint64_t json_uint(const File& file, const Json& j, const std::string& what) {
  if (!j.is_number_unsigned())
    file.fail(fmt::format("header: {} must be a non-negative integer, found {}", what, j.dump()));
  return j.get<std::uint64_t>();
}

}  // namespace

std::string_view dtype_name(DType dtype) {
  for (const auto& [t, name] : kDTypes)
    if (t == dtype) return name;
  return "?";
}

std::string sha256_hex(std::span<const std::byte> bytes) {
  Sha256 sha;
  sha.update(bytes.data(), bytes.size());
  return sha.hex();
}

namespace {

// The content hash: metadata entries (sorted by key, "integrity" excluded) and tensors (sorted by
// name: name, dtype, shape, byte count, bytes), each field closed by a NUL, so no two contents
// hash the same text. `bytes_of(i)` gives tensor i's data.
struct ContentEntry {
  std::string_view name;
  DType dtype;
  const Shape* shape;
  std::span<const std::byte> bytes;
};

std::string content_hash(const Metadata& metadata, std::vector<ContentEntry> tensors) {
  Sha256 sha;
  auto text = [&](std::string_view s) {
    sha.update(s.data(), s.size());
    sha.update("\0", 1);
  };
  text("convkit safetensors content v1");
  for (const auto& [key, value] : metadata) {
    if (key == kIntegrityKey || key == kContentKey) continue;
    text(key);
    text(value);
  }
  text("tensors");
  std::sort(tensors.begin(), tensors.end(),
            [](const auto& a, const auto& b) { return a.name < b.name; });
  for (const auto& t : tensors) {
    text(t.name);
    text(dtype_name(t.dtype));
    text(t.shape->str());
    const std::uint64_t n = t.bytes.size();
    sha.update(&n, sizeof n);
    sha.update(t.bytes.data(), t.bytes.size());
  }
  return sha.hex();
}

void write_file_unwrapped(const std::filesystem::path& path, const Metadata& metadata,
                          std::span<const TensorToWrite> tensors) {
  const std::string target = path.string();
  for (const auto key : {kIntegrityKey, kContentKey})
    if (metadata.contains(key)) fail("metadata key '{}' is reserved", key);
  Json header = Json::object();
  std::set<std::string_view> names;
  std::uint64_t offset = 0;
  for (const auto& t : tensors) {
    if (t.name.empty() || t.name == "__metadata__" || !names.insert(t.name).second)
      fail("tensor name '{}' is empty, reserved or repeated", t.name);
    if (!t.tensor.defined() || !t.tensor.is_contiguous())
      fail("tensor '{}' must be defined and contiguous", t.name);
    const std::uint64_t n = t.tensor.nbytes();
    header[t.name] = {{"dtype", dtype_name(t.tensor.dtype())},
                      {"shape", t.tensor.shape().dims()},
                      {"data_offsets", {offset, offset + n}}};
    offset += n;
  }
  header["__metadata__"] = Json(metadata);

  std::vector<ContentEntry> content;
  for (const auto& t : tensors)
    content.push_back({t.name,
                       t.tensor.dtype(),
                       &t.tensor.shape(),
                       {static_cast<const std::byte*>(t.tensor.raw()), t.tensor.nbytes()}});
  header["__metadata__"][std::string(kContentKey)] = content_hash(metadata, std::move(content));

  Sha256 sha;
  const std::string canonical = header.dump();
  sha.update(canonical.data(), canonical.size());
  for (const auto& t : tensors) sha.update(t.tensor.raw(), t.tensor.nbytes());
  header["__metadata__"][std::string(kIntegrityKey)] = "sha256:" + sha.hex();
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');  // data starts 8-byte aligned
  std::uint64_t length = text.size();

  TempFile tmp(fmt::format("{}.tmp.{}", target, ::getpid()));
  write_all(tmp.fd(), &length, sizeof length, tmp.path());
  write_all(tmp.fd(), text.data(), text.size(), tmp.path());
  for (const auto& t : tensors) write_all(tmp.fd(), t.tensor.raw(), t.tensor.nbytes(), tmp.path());
  tmp.close_synced();
  if (::rename(tmp.path().c_str(), target.c_str()) != 0)
    fail("cannot rename {} to {}: {}", tmp.path(), target, errno_text());
  tmp.commit();
  fsync_directory(path.parent_path());
}
}  // namespace

void write_file(const std::filesystem::path& path, const Metadata& metadata,
                std::span<const TensorToWrite> tensors) {
  try {
    write_file_unwrapped(path, metadata, tensors);
  } catch (const Error& e) {
    fail("cannot save {}: {}", path.string(), e.what());  // the temp file is already removed
  } catch (const Json::exception& e) {                    // metadata that is not valid UTF-8
    fail("cannot save {}: {}", path.string(), e.what());
  }
}

void File::fail(std::string_view what) const {
  convkit::fail("{}: {}", path_.string(), what);
}

const std::string& File::meta(std::string_view key) const {
  auto it = metadata_.find(key);
  if (it == metadata_.end()) fail(fmt::format("metadata entry '{}' is missing", key));
  return it->second;
}

const TensorInfo* File::find(std::string_view name) const {
  for (const auto& t : tensors_)
    if (t.name == name) return &t;
  return nullptr;
}

std::span<const std::byte> File::data(const TensorInfo& t) const {
  return {bytes_.data() + data_start_ + t.begin, static_cast<std::size_t>(t.end - t.begin)};
}

Tensor File::tensor(const TensorInfo& t) const {
  Tensor out = Tensor::empty(t.shape, t.dtype);
  const auto bytes = data(t);
  if (!bytes.empty()) std::memcpy(out.raw(), bytes.data(), bytes.size());
  return out;
}

File File::read(const std::filesystem::path& path) {
  File file;
  file.path_ = path;
  file.bytes_ = read_whole_file(path);
  const std::size_t size = file.bytes_.size();
  if (size < 8)
    file.fail(fmt::format(
        "file is truncated: {} bytes, but a safetensors file starts with an 8-byte header length",
        size));
  std::uint64_t length = 0;
  std::memcpy(&length, file.bytes_.data(), 8);
  if (length > size - 8)
    file.fail(fmt::format(
        "header length {} (bytes 0-7) exceeds the {} bytes after it: the file is truncated or "
        "not a safetensors file",
        length, size - 8));
  if (length > kMaxHeaderBytes)
    file.fail(
        fmt::format("header length {} exceeds the limit of {} bytes", length, kMaxHeaderBytes));
  if (length < 2) file.fail(fmt::format("header length {} is too small for a JSON header", length));
  const char* text = reinterpret_cast<const char*>(file.bytes_.data() + 8);
  file.data_start_ = 8 + static_cast<std::size_t>(length);
  const std::uint64_t data_size = size - file.data_start_;

  Json header;
  try {
    header = Json::parse(text, text + length);
  } catch (const Json::parse_error& e) {
    file.fail(fmt::format("header (bytes 8-{}) is not valid JSON: at file byte {}: {}",
                          8 + length - 1, 8 + (e.byte > 0 ? e.byte - 1 : 0),
                          parse_error_detail(e.what())));
  } catch (const Json::exception& e) {
    file.fail(fmt::format("header (bytes 8-{}) is not valid JSON: {}", 8 + length - 1, e.what()));
  }
  if (!header.is_object())
    file.fail(fmt::format("header must be a JSON object, found {}", header.type_name()));
  if (!header.contains("__metadata__") || !header["__metadata__"].is_object())
    file.fail("header has no \"__metadata__\" object (not a convkit file?)");
  for (const auto& [key, value] : header["__metadata__"].items()) {
    if (!value.is_string())
      file.fail(
          fmt::format("metadata entry '{}' must be a string, found {}", key, value.type_name()));
    file.metadata_.emplace(key, value.get<std::string>());
  }

  // Integrity before anything else is trusted.
  auto integrity = file.metadata_.find(kIntegrityKey);
  if (integrity == file.metadata_.end())
    file.fail(
        "metadata has no 'integrity' entry (not written by convkit, or the header was modified)");
  Json stripped = header;
  stripped["__metadata__"].erase(std::string(kIntegrityKey));
  std::string canonical, full;
  try {
    canonical = stripped.dump();
    full = header.dump();
  } catch (const Json::exception& e) {
    file.fail(fmt::format("header cannot be re-serialized: {}", e.what()));
  }
  std::string_view raw(text, length);
  while (!raw.empty() && raw.back() == ' ') raw.remove_suffix(1);
  if (raw.find('\0') != std::string_view::npos)
    file.fail("header contains a NUL byte: the file is corrupt");
  // Spelled as convkit writes it: the header-bytes hash decides. Spelled otherwise (re-saved by
  // another writer): the content hash decides, once the tensor table is checked.
  const bool respelled = raw != full;
  if (!respelled) {
    Sha256 sha;
    sha.update(canonical.data(), canonical.size());
    sha.update(file.bytes_.data() + file.data_start_, data_size);
    if (integrity->second != "sha256:" + sha.hex())
      file.fail("checksum mismatch: the file is corrupt or was modified");
  } else if (!file.metadata_.contains(kContentKey)) {
    file.fail(
        "checksum mismatch: the header is not as convkit wrote it and the file has no content hash "
        "(written before content hashes, then modified)");
  }

  for (const auto& [name, entry] : header.items()) {
    if (name == "__metadata__") continue;
    const std::string what = fmt::format("tensor '{}'", name);
    if (!entry.is_object() || !entry.contains("dtype") || !entry.contains("shape") ||
        !entry.contains("data_offsets") || entry.size() != 3)
      file.fail(fmt::format(
          "header: {} must be an object with exactly dtype, shape and data_offsets", what));
    TensorInfo info;
    info.name = name;
    bool known = false;
    for (const auto& [t, n] : kDTypes)
      if (entry["dtype"].is_string() && entry["dtype"].get<std::string>() == n) {
        info.dtype = t;
        known = true;
      }
    if (!known)
      file.fail(fmt::format("header: {} has unsupported dtype {} (expected F32, BF16, U8 or I32)",
                            what, entry["dtype"].dump()));
    if (!entry["shape"].is_array()) file.fail(fmt::format("header: {} shape must be a list", what));
    std::uint64_t numel = 1;
    std::vector<std::int64_t> dims;
    for (const auto& d : entry["shape"]) {
      const std::uint64_t dim = json_uint(file, d, what + " shape entry");
      if (__builtin_mul_overflow(numel, dim, &numel) || numel > data_size)
        file.fail(
            fmt::format("header: {} shape {} holds more elements than the {}-byte data section",
                        what, entry["shape"].dump(), data_size));
      dims.push_back(static_cast<std::int64_t>(dim));
    }
    info.shape = Shape(std::move(dims));
    const auto& offsets = entry["data_offsets"];
    if (!offsets.is_array() || offsets.size() != 2)
      file.fail(fmt::format("header: {} data_offsets must be [begin, end]", what));
    info.begin = json_uint(file, offsets[0], what + " data_offsets[0]");
    info.end = json_uint(file, offsets[1], what + " data_offsets[1]");
    if (info.begin > info.end || info.end > data_size)
      file.fail(
          fmt::format("header: {} data_offsets [{}, {}] are outside the {}-byte data section (file "
                      "bytes {}-{})",
                      what, info.begin, info.end, data_size, file.data_start_, size));
    if (info.end - info.begin != numel * size_of(info.dtype))
      file.fail(fmt::format("header: {} spans {} bytes but {} {} needs {}", what,
                            info.end - info.begin, dtype_name(info.dtype), info.shape.str(),
                            numel * size_of(info.dtype)));
    file.tensors_.push_back(std::move(info));
  }
  std::sort(file.tensors_.begin(), file.tensors_.end(),
            [](const TensorInfo& a, const TensorInfo& b) {
              return std::tie(a.begin, a.end) < std::tie(b.begin, b.end);
            });
  std::uint64_t covered = 0;
  for (std::size_t i = 0; i < file.tensors_.size(); ++i) {
    const auto& t = file.tensors_[i];
    if (t.begin < covered)
      file.fail(fmt::format("header: tensors '{}' and '{}' overlap (data bytes {}-{} and {}-{})",
                            file.tensors_[i - 1].name, t.name, file.tensors_[i - 1].begin, covered,
                            t.begin, t.end));
    if (t.begin > covered)
      file.fail(fmt::format("header: data bytes {}-{} belong to no tensor", covered, t.begin));
    covered = t.end;
  }
  if (covered != data_size)
    file.fail(fmt::format("header: data bytes {}-{} belong to no tensor", covered, data_size));
  if (respelled) {  // the table is sound (bounds checked): now hash what it describes
    std::vector<ContentEntry> content;
    for (const auto& t : file.tensors_)
      content.push_back({t.name, t.dtype, &t.shape, file.data(t)});
    if (file.metadata_.at(std::string(kContentKey)) !=
        content_hash(file.metadata_, std::move(content)))
      file.fail("checksum mismatch: the file is corrupt or was modified");
  }
  return file;
}

}  // namespace convkit::io::safetensors
