// ONNX files in and out (see onnx_file.h).
#include "io/onnx/onnx_file.h"

#include <convkit/io/onnx.h>

#include <fmt/format.h>

#include <unistd.h>
#include <bit>
#include <cstring>
#include <fstream>
#include <sstream>

namespace convkit::io::onnx_file {

namespace fs = std::filesystem;

std::int64_t Const::numel() const {
  std::int64_t n = 1;
  for (auto d : dims) n *= d;
  return n;
}

std::vector<std::int64_t> Const::ints() const {
  if (integer) return i;
  std::vector<std::int64_t> out;
  for (float v : f) out.push_back(static_cast<std::int64_t>(v));
  return out;
}

onnx::ModelProto read_model(const std::string& path) {
  std::error_code ec;
  if (!fs::exists(path, ec)) throw OnnxFileError(fmt::format("'{}': no such file", path));
  if (fs::is_directory(path, ec))
    throw OnnxFileError(fmt::format("'{}': is a directory, not an .onnx file", path));
  std::ifstream in(path, std::ios::binary);
  if (!in) throw OnnxFileError(fmt::format("'{}': cannot open for reading", path));
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string bytes = ss.str();
  onnx::ModelProto model;
  if (bytes.empty()) throw OnnxFileError(fmt::format("'{}': empty file, not an ONNX model", path));
  if (!model.ParseFromString(bytes))
    throw OnnxFileError(fmt::format(
        "'{}': not a readable ONNX model ({} bytes that do not parse as an ONNX ModelProto: "
        "truncated or another format)",
        path, bytes.size()));
  if (!model.has_graph() || model.graph().node_size() == 0)
    throw OnnxFileError(fmt::format(
        "'{}': not an ONNX model (no graph with nodes; truncated or another format)", path));
  return model;
}

void write_model(const onnx::ModelProto& model, const std::string& path) {
  std::string bytes;
  if (!model.SerializeToString(&bytes))
    throw OnnxFileError(fmt::format("'{}': cannot serialize the ONNX model (over 2 GB?)", path));
  const fs::path target(path);
  const fs::path tmp = target.parent_path() / (target.filename().string() +
                                               fmt::format(".tmp{}", static_cast<long>(getpid())));
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) throw OnnxFileError(fmt::format("'{}': cannot open for writing", tmp.string()));
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    out.flush();
    if (!out) {
      std::error_code ec;
      fs::remove(tmp, ec);
      throw OnnxFileError(fmt::format("'{}': write failed (disk full?)", tmp.string()));
    }
  }
  std::error_code ec;
  fs::rename(tmp, target, ec);
  if (ec) {
    fs::remove(tmp, ec);
    throw OnnxFileError(fmt::format("'{}': cannot write ({})", path, ec.message()));
  }
}

float half_to_float(std::uint16_t h) {
  const std::uint32_t sign = std::uint32_t(h & 0x8000u) << 16;
  std::uint32_t exp = (h >> 10) & 0x1f, mant = h & 0x3ffu, bits;
  if (exp == 0) {
    if (mant == 0) {
      bits = sign;
    } else {  // subnormal: normalize
      exp = 127 - 15 + 1;
      while ((mant & 0x400u) == 0) {
        mant <<= 1;
        --exp;
      }
      mant &= 0x3ffu;
      bits = sign | (exp << 23) | (mant << 13);
    }
  } else if (exp == 0x1f) {
    bits = sign | 0x7f800000u | (mant << 13);
  } else {
    bits = sign | ((exp - 15 + 127) << 23) | (mant << 13);
  }
  return std::bit_cast<float>(bits);
}

namespace {

std::string external_bytes(const onnx::TensorProto& t, const fs::path& dir, std::size_t want) {
  std::string location;
  std::int64_t offset = 0, length = -1;
  for (const auto& kv : t.external_data()) {
    if (kv.key() == "location") location = kv.value();
    if (kv.key() == "offset") offset = std::stoll(kv.value());
    if (kv.key() == "length") length = std::stoll(kv.value());
  }
  if (location.empty())
    throw OnnxFileError(fmt::format("tensor '{}': external data without a location", t.name()));
  const fs::path file = dir / location;
  std::ifstream in(file, std::ios::binary);
  if (!in)
    throw OnnxFileError(fmt::format("tensor '{}': cannot open its external data file '{}'",
                                    t.name(), file.string()));
  if (length < 0) length = static_cast<std::int64_t>(want);
  std::string bytes(static_cast<std::size_t>(length), '\0');
  in.seekg(offset);
  in.read(bytes.data(), length);
  if (in.gcount() != length)
    throw OnnxFileError(fmt::format("tensor '{}': '{}' ends before offset {} + {} bytes", t.name(),
                                    file.string(), offset, length));
  return bytes;
}

template <typename T>
std::vector<T> from_raw(const std::string& raw, std::int64_t n, const std::string& name) {
  if (raw.size() != static_cast<std::size_t>(n) * sizeof(T))
    throw OnnxFileError(fmt::format("tensor '{}': {} bytes of data for {} elements of {} bytes",
                                    name, raw.size(), n, sizeof(T)));
  std::vector<T> out(static_cast<std::size_t>(n));
  if (n > 0) std::memcpy(out.data(), raw.data(), raw.size());
  return out;
}

}  // namespace

Const read_tensor(const onnx::TensorProto& t, const fs::path& dir) {
  Const c;
  for (auto d : t.dims()) {
    if (d < 0) throw OnnxFileError(fmt::format("tensor '{}': negative dimension {}", t.name(), d));
    c.dims.push_back(d);
  }
  const std::int64_t n = c.numel();
  const bool external = t.data_location() == onnx::TensorProto::EXTERNAL;
  const bool has_raw = t.has_raw_data() || external;
  auto raw = [&](std::size_t elem) {
    return external ? external_bytes(t, dir, static_cast<std::size_t>(n) * elem) : t.raw_data();
  };
  auto count_check = [&](std::int64_t got) {
    if (got != n)
      throw OnnxFileError(
          fmt::format("tensor '{}': {} values for dims with {} elements", t.name(), got, n));
  };
  switch (t.data_type()) {
    case onnx::TensorProto::FLOAT:
      if (has_raw) {
        c.f = from_raw<float>(raw(4), n, t.name());
      } else {
        count_check(t.float_data_size());
        c.f.assign(t.float_data().begin(), t.float_data().end());
      }
      return c;
    case onnx::TensorProto::DOUBLE: {
      std::vector<double> d;
      if (has_raw) {
        d = from_raw<double>(raw(8), n, t.name());
      } else {
        count_check(t.double_data_size());
        d.assign(t.double_data().begin(), t.double_data().end());
      }
      c.f.assign(d.begin(), d.end());
      return c;
    }
    case onnx::TensorProto::FLOAT16: {  // widened to f32
      std::vector<std::uint16_t> h;
      if (has_raw) {
        h = from_raw<std::uint16_t>(raw(2), n, t.name());
      } else {  // int32_data holds the bits
        count_check(t.int32_data_size());
        for (auto v : t.int32_data()) h.push_back(static_cast<std::uint16_t>(v));
      }
      c.f.reserve(h.size());
      for (auto v : h) c.f.push_back(half_to_float(v));
      return c;
    }
    case onnx::TensorProto::INT64:
      c.integer = true;
      if (has_raw) {
        c.i = from_raw<std::int64_t>(raw(8), n, t.name());
      } else {
        count_check(t.int64_data_size());
        c.i.assign(t.int64_data().begin(), t.int64_data().end());
      }
      return c;
    case onnx::TensorProto::INT32:
    case onnx::TensorProto::INT16:
    case onnx::TensorProto::INT8:
    case onnx::TensorProto::UINT8:
    case onnx::TensorProto::UINT16:
    case onnx::TensorProto::BOOL: {
      c.integer = true;
      if (has_raw) {
        const auto type = t.data_type();
        const std::string bytes =
            raw(type == onnx::TensorProto::INT32                                        ? 4
                : type == onnx::TensorProto::INT16 || type == onnx::TensorProto::UINT16 ? 2
                                                                                        : 1);
        if (type == onnx::TensorProto::INT32) {
          for (auto v : from_raw<std::int32_t>(bytes, n, t.name())) c.i.push_back(v);
        } else if (type == onnx::TensorProto::INT16) {
          for (auto v : from_raw<std::int16_t>(bytes, n, t.name())) c.i.push_back(v);
        } else if (type == onnx::TensorProto::UINT16) {
          for (auto v : from_raw<std::uint16_t>(bytes, n, t.name())) c.i.push_back(v);
        } else if (type == onnx::TensorProto::INT8) {
          for (auto v : from_raw<std::int8_t>(bytes, n, t.name())) c.i.push_back(v);
        } else {
          for (auto v : from_raw<std::uint8_t>(bytes, n, t.name())) c.i.push_back(v);
        }
      } else {
        count_check(t.int32_data_size());
        c.i.assign(t.int32_data().begin(), t.int32_data().end());
      }
      return c;
    }
    default:
      throw OnnxFileError(
          fmt::format("tensor '{}': element type {} is not supported", t.name(),
                      onnx::TensorProto::DataType_Name(
                          static_cast<onnx::TensorProto::DataType>(t.data_type()))));
  }
}

void write_tensor(onnx::TensorProto& t, const std::string& name,
                  const std::vector<std::int64_t>& dims, const float* data) {
  t.set_name(name);
  t.set_data_type(onnx::TensorProto::FLOAT);
  std::int64_t n = 1;
  for (auto d : dims) {
    t.add_dims(d);
    n *= d;
  }
  t.set_raw_data(reinterpret_cast<const char*>(data), static_cast<std::size_t>(n) * sizeof(float));
}

void write_tensor(onnx::TensorProto& t, const std::string& name,
                  const std::vector<std::int64_t>& dims, const std::vector<std::int64_t>& data) {
  t.set_name(name);
  t.set_data_type(onnx::TensorProto::INT64);
  for (auto d : dims) t.add_dims(d);
  t.set_raw_data(reinterpret_cast<const char*>(data.data()), data.size() * sizeof(std::int64_t));
}

}  // namespace convkit::io::onnx_file
