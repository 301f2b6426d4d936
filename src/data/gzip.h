// gzip compression of a whole buffer (zlib), shared by the IDX writer and the tar writer.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace convkit::data {

// `in` as one gzip member; `file` names the output in errors.
std::vector<std::uint8_t> gzip_bytes(const std::string& file, const std::vector<std::uint8_t>& in);

}  // namespace convkit::data
