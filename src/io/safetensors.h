// The safetensors container (https://huggingface.co/docs/safetensors): an 8-byte little-endian
// header length L, L bytes of JSON header (padded with spaces so the data starts 8-aligned),
// then the raw little-endian tensor bytes. The header maps each tensor name to
// {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]} (offsets into the data section,
// which the tensors cover exactly, without gaps or overlaps) and "__metadata__" to a
// string -> string map. Python's `safetensors` reads our files as they are.
//
// convkit adds two metadata entries. "content_sha256": SHA-256 over what the file holds, not how
// it is spelled: every other metadata entry and every tensor's name, dtype, shape and bytes, in
// name order (content_hash in safetensors.cpp). "integrity" = "sha256:<hex>": SHA-256 over the
// canonical header (nlohmann's compact dump() of the parsed header without "integrity"; keys
// sorted) followed by every data byte. A reader checks the file as it finds it:
//   - header bytes exactly that canonical form (as convkit writes it): "integrity" must match,
//     so one flipped byte anywhere (a value, the padding, the hash itself) is detected;
//   - spelled otherwise (re-saved unchanged by another writer such as Python's safetensors:
//     other key order, data order, padding): the tensor table is checked, then "content_sha256"
//     must match, so a changed value or data byte is still detected. Files from before content
//     hashes have none and must be canonical.
// Writes are atomic: a temp file beside the target, fsync, rename, fsync dir.
#pragma once

#include <convkit/tensor/tensor.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace convkit::io::safetensors {

using Metadata = std::map<std::string, std::string, std::less<>>;

inline constexpr std::string_view kIntegrityKey = "integrity";
inline constexpr std::string_view kContentKey = "content_sha256";
inline constexpr std::uint64_t kMaxHeaderBytes = 100'000'000;  // the Python library's limit

struct TensorToWrite {
  std::string name;
  Tensor tensor;  // contiguous; f32, bf16, u8 or i32
};

// Writes `tensors` in the order given, with `metadata` plus the integrity entry, atomically:
// on any failure the temp file is removed and an existing file at `path` is left untouched.
// Throws Error naming the path and the failing system call.
void write_file(const std::filesystem::path& path, const Metadata& metadata,
                std::span<const TensorToWrite> tensors);

struct TensorInfo {
  std::string name;
  DType dtype = DType::f32;
  Shape shape;
  std::uint64_t begin = 0;  // byte range in the data section
  std::uint64_t end = 0;
};

// A validated file in memory. read() checks, in order: the length prefix, the header size
// against the file size, the JSON, the metadata (strings only), the integrity entry, then
// every tensor entry (dtype, shape, offsets in range, sizes matching dtype x shape, the data
// section covered exactly once). Each failure is one Error "<path>: <problem>".
class File {
 public:
  static File read(const std::filesystem::path& path);

  const std::filesystem::path& path() const { return path_; }
  const Metadata& metadata() const { return metadata_; }
  // The metadata entry `key`; throws Error naming the file and the key when it is missing.
  const std::string& meta(std::string_view key) const;
  const std::vector<TensorInfo>& tensors() const { return tensors_; }  // in data order
  const TensorInfo* find(std::string_view name) const;                 // null when absent
  std::span<const std::byte> data(const TensorInfo& t) const;
  Tensor tensor(const TensorInfo& t) const;  // a contiguous copy

  // Throws Error "<path>: <what>".
  [[noreturn]] void fail(std::string_view what) const;

 private:
  std::filesystem::path path_;
  std::vector<std::byte> bytes_;  // the whole file
  std::size_t data_start_ = 0;
  Metadata metadata_;
  std::vector<TensorInfo> tensors_;
};

// safetensors dtype names: "F32", "BF16", "U8", "I32".
std::string_view dtype_name(DType dtype);

// Lowercase hex SHA-256 of `bytes` (OpenSSL), for tests and tools.
std::string sha256_hex(std::span<const std::byte> bytes);

}  // namespace convkit::io::safetensors
