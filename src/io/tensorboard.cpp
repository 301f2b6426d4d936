// TensorBoard event writer: CRC32C, TFRecord framing, a minimal protobuf encoder for the Event
// messages we write, TensorFlow-style histograms (see tensorboard.h).
#include <convkit/io/tensorboard.h>

#include <convkit/io/png_writer.h>

#include <unistd.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cerrno>
#include <cfloat>
#include <chrono>
#include <cmath>
#include <cstring>
#include <ctime>

namespace convkit::io {

namespace {

// One table entry per byte value: the CRC of that byte alone (reflected, no pre/post inversion).
constexpr std::array<std::uint32_t, 256> make_crc32c_table() {
  std::array<std::uint32_t, 256> table{};
  for (std::uint32_t i = 0; i < 256; ++i) {
    std::uint32_t c = i;
    for (int bit = 0; bit < 8; ++bit) c = (c & 1u) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
    table[i] = c;
  }
  return table;
}
constexpr auto kCrc32cTable = make_crc32c_table();

// Protobuf wire format: tags are (field << 3) | wire type; 0 varint, 1 fixed64, 2 bytes, 5 fixed32.
class ProtoWriter {
 public:
  void varint_field(int field, std::uint64_t v) {
    tag(field, 0);
    varint(v);
  }
  void double_field(int field, double v) {
    tag(field, 1);
    fixed(std::bit_cast<std::uint64_t>(v), 8);
  }
  void float_field(int field, float v) {
    tag(field, 5);
    fixed(std::bit_cast<std::uint32_t>(v), 4);
  }
  void bytes_field(int field, std::string_view bytes) {
    tag(field, 2);
    varint(bytes.size());
    out_.append(bytes);
  }
  void packed_doubles(int field, std::span<const double> values) {
    tag(field, 2);
    varint(values.size() * 8);
    for (double v : values) fixed(std::bit_cast<std::uint64_t>(v), 8);
  }
  const std::string& str() const { return out_; }

 private:
  void tag(int field, int wire_type) {
    varint((std::uint64_t(field) << 3) | std::uint64_t(wire_type));
  }
  void varint(std::uint64_t v) {
    while (v >= 0x80) {
      out_.push_back(char((v & 0x7f) | 0x80));
      v >>= 7;
    }
    out_.push_back(char(v));
  }
  void fixed(std::uint64_t v, int bytes) {  // little-endian
    for (int i = 0; i < bytes; ++i) out_.push_back(char((v >> (8 * i)) & 0xff));
  }
  std::string out_;
};

// Summary { value { tag, <payload field> } } with one value.
std::string one_value_summary(std::string_view tag, const ProtoWriter& payload_value) {
  ProtoWriter value;
  value.bytes_field(1, tag);
  std::string v = value.str() + payload_value.str();
  ProtoWriter summary;
  summary.bytes_field(1, v);
  return summary.str();
}

const std::vector<double>& default_bucket_limits() {
  static const std::vector<double> limits = [] {
    std::vector<double> positive;
    for (double v = 1e-12; v < 1e20; v *= 1.1) positive.push_back(v);
    positive.push_back(DBL_MAX);
    std::vector<double> all;
    all.reserve(2 * positive.size() + 1);
    for (auto it = positive.rbegin(); it != positive.rend(); ++it) all.push_back(-*it);
    all.push_back(0.0);
    all.insert(all.end(), positive.begin(), positive.end());
    return all;
  }();
  return limits;
}

double wall_time_now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string host_name() {
  char name[256] = {};
  if (::gethostname(name, sizeof name - 1) != 0 || name[0] == '\0') return "localhost";
  std::string s(name);
  // NOTE: keep the file name a plain path component whatever the host calls itself.
  for (char& ch : s)
    if (ch == '/' || ch == '\\') ch = '_';
  return s;
}

}  // namespace

std::uint32_t crc32c_extend(std::uint32_t crc, const void* data, std::size_t size) {
  const auto* p = static_cast<const std::uint8_t*>(data);
  std::uint32_t c = ~crc;
  for (std::size_t i = 0; i < size; ++i) c = kCrc32cTable[(c ^ p[i]) & 0xffu] ^ (c >> 8);
  return ~c;
}

std::uint32_t crc32c(const void* data, std::size_t size) {
  return crc32c_extend(0, data, size);
}

std::uint32_t mask_crc32c(std::uint32_t crc) {
  return ((crc >> 15) | (crc << 17)) + 0xa282ead8u;
}

Histogram make_histogram(std::span<const float> values) {
  const auto& limits = default_bucket_limits();
  std::vector<double> counts(limits.size(), 0.0);
  Histogram h;
  h.min = DBL_MAX;
  h.max = -DBL_MAX;
  for (float f : values) {
    if (!std::isfinite(f)) continue;
    const double v = f;
    const auto b = std::size_t(std::upper_bound(limits.begin(), limits.end(), v) - limits.begin());
    counts[std::min(b, counts.size() - 1)] += 1;
    h.min = std::min(h.min, v);
    h.max = std::max(h.max, v);
    h.num += 1;
    h.sum += v;
    h.sum_squares += v * v;
  }
  if (h.num == 0) {
    h.min = h.max = 0;
    h.bucket_limit = {DBL_MAX};
    h.bucket = {0.0};
    return h;
  }
  for (std::size_t i = 0; i < counts.size();) {
    double limit = limits[i], count = counts[i];
    ++i;
    if (count <= 0)  // merge the run of empty buckets into one
      while (i < counts.size() && counts[i] <= 0) limit = limits[i++];
    h.bucket_limit.push_back(limit);
    h.bucket.push_back(count);
  }
  return h;
}

EventWriter::EventWriter(const std::filesystem::path& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) fail("{}: cannot create the event directory ({})", dir.string(), ec.message());
  const std::string base =
      "events.out.tfevents." + std::to_string(std::time(nullptr)) + "." + host_name();
  for (int n = 0; n < 1000 && !file_; ++n) {
    path_ = dir / (n == 0 ? base : base + "." + std::to_string(n));
    file_ =
        std::fopen(path_.c_str(), "wbx");  // "x": fail rather than overwrite another writer's file
    if (!file_ && errno != EEXIST)
      fail("{}: cannot create the event file ({})", path_.string(), std::strerror(errno));
  }
  if (!file_) fail("{}: cannot find a free event file name", dir.string());
  ProtoWriter event;
  event.double_field(1, wall_time_now());
  event.varint_field(2, 0);
  event.bytes_field(3, "brain.Event:2");
  write_record(event.str());
  flush();
}

EventWriter::~EventWriter() {
  if (file_) std::fclose(file_);
}

void EventWriter::add_scalar(std::string_view tag, double value, std::int64_t step) {
  ProtoWriter payload;
  payload.float_field(2, float(value));
  write_summary(one_value_summary(tag, payload), step);
}

void EventWriter::add_histogram(std::string_view tag, std::span<const float> values,
                                std::int64_t step) {
  const Histogram h = make_histogram(values);
  ProtoWriter histo;
  histo.double_field(1, h.min);
  histo.double_field(2, h.max);
  histo.double_field(3, h.num);
  histo.double_field(4, h.sum);
  histo.double_field(5, h.sum_squares);
  histo.packed_doubles(6, h.bucket_limit);
  histo.packed_doubles(7, h.bucket);
  ProtoWriter payload;
  payload.bytes_field(5, histo.str());
  write_summary(one_value_summary(tag, payload), step);
}

void EventWriter::add_image(std::string_view tag, const Tensor& image, std::int64_t step) {
  const std::string png = encode_png(image);  // validates the layout
  ProtoWriter img;
  img.varint_field(1, std::uint64_t(image.dim(1)));
  img.varint_field(2, std::uint64_t(image.dim(2)));
  img.varint_field(3, std::uint64_t(image.dim(0)));  // the colorspace code equals the channel count
  img.bytes_field(4, png);
  ProtoWriter payload;
  payload.bytes_field(4, img.str());
  write_summary(one_value_summary(tag, payload), step);
}

void EventWriter::flush() {
  if (std::fflush(file_) != 0) fail("{}: cannot flush ({})", path_.string(), std::strerror(errno));
}

void EventWriter::write_summary(const std::string& summary, std::int64_t step) {
  ProtoWriter event;
  event.double_field(1, wall_time_now());
  event.varint_field(2, std::uint64_t(step));  // int64: negative steps are ten-byte varints
  event.bytes_field(5, summary);
  write_record(event.str());
}

void EventWriter::write_record(const std::string& data) {
  char header[12];
  const std::uint64_t length = data.size();
  for (int i = 0; i < 8; ++i) header[i] = char((length >> (8 * i)) & 0xff);
  const std::uint32_t length_crc = mask_crc32c(crc32c(header, 8));
  const std::uint32_t data_crc = mask_crc32c(crc32c(data.data(), data.size()));
  for (int i = 0; i < 4; ++i) header[8 + i] = char((length_crc >> (8 * i)) & 0xff);
  char footer[4];
  for (int i = 0; i < 4; ++i) footer[i] = char((data_crc >> (8 * i)) & 0xff);
  if (std::fwrite(header, 1, 12, file_) != 12 ||
      std::fwrite(data.data(), 1, data.size(), file_) != data.size() ||
      std::fwrite(footer, 1, 4, file_) != 4)
    fail("{}: cannot write an event record ({})", path_.string(), std::strerror(errno));
}

}  // namespace convkit::io
