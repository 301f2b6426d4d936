// Internal: a minimal tar reader and writer for dataset archives (CIFAR's cifar-*-binary.tar.gz).
// Reads POSIX ustar and GNU tar (GNU long names, pax `path` records), raw or gzip-compressed
// (recognized by the first bytes 1f 8b, not by the name). The archive is inflated and parsed in
// 1 MiB pieces, and only the members asked for are kept, so memory holds those and no more.
// Malformed input is an Error naming the file, the byte offset (in the uncompressed tar stream,
// or the compressed one for gzip damage) and what was expected. Used by cifar.cpp.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

namespace convkit::data::detail {

struct TarMember {
  std::string name;  // as stored, without a leading "./": "cifar-10-batches-bin/data_batch_1.bin"
  std::vector<std::uint8_t> data;
};

// The regular files of the archive at `path` for which want(name) is true, in archive order.
// Directories, links and other entries are skipped. The whole archive is read, so gzip damage
// anywhere (a CRC mismatch, a truncated stream) is an Error even after the wanted members.
std::vector<TarMember> read_tar(const std::filesystem::path& path,
                                const std::function<bool(const std::string&)>& want);

// Writes `members` as a ustar archive (a name ending in '/' becomes a directory entry), gzip-
// compressed when `gzip`. Names are at most 100 bytes; modes 0644 (0755 for directories), owner
// 0, mtime 0, so the bytes depend only on the members.
void write_tar(const std::filesystem::path& path, const std::vector<TarMember>& members, bool gzip);

}  // namespace convkit::data::detail
