// TensorBoard event files: what `tensorboard --logdir RUN_DIR` reads. A file is a sequence of
// TFRecords (u64 length, masked CRC32C of the length, the bytes, masked CRC32C of the bytes), each
// holding one `tensorflow.Event` protobuf, encoded here by hand (no libprotobuf):
//   Event          wall_time (1, double), step (2, int64), file_version (3, "brain.Event:2",
//                  the first record) or summary (5)
//   Summary        value (1, repeated Summary.Value)
//   Summary.Value  tag (1), simple_value (2, float) | image (4, Summary.Image) | histo (5)
//   Summary.Image  height (1), width (2), colorspace (3: 1 gray, 2 gray+alpha, 3 RGB, 4 RGBA),
//                  encoded_image_string (4, PNG bytes)
//   HistogramProto min (1), max (2), num (3), sum (4), sum_squares (5), bucket_limit (6, packed
//                  doubles), bucket (7, packed doubles)
//
//   io::EventWriter events(run_dir);               // run_dir/events.out.tfevents.<time>.<host>
//   events.add_scalar("loss", 0.31, epoch);
//   events.add_histogram("weights/dense.weight", values, epoch);
//   events.add_image("misclassified", grid_u8_chw, epoch);
//   events.flush();
#pragma once

#include <convkit/tensor/tensor.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace convkit::io {

// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), as iSCSI and TFRecord use it.
// crc32c(data) == crc32c_extend(0, data); extend continues a finished CRC over more bytes.
std::uint32_t crc32c(const void* data, std::size_t size);
std::uint32_t crc32c_extend(std::uint32_t crc, const void* data, std::size_t size);
// TFRecord's masking: rotate right by 15 bits, add 0xa282ead8.
std::uint32_t mask_crc32c(std::uint32_t crc);

// A histogram with TensorFlow's default bucket edges: 0, +-1e-12 * 1.1^k up to 1e20, +-DBL_MAX.
// A value v lands in the first bucket whose limit is > v; runs of empty buckets are merged into
// one (limit = the run's last limit, count 0), as TensorFlow encodes them. Non-finite values are
// skipped. No values: min = max = 0 and one empty bucket with limit DBL_MAX.
struct Histogram {
  double min = 0, max = 0, num = 0, sum = 0, sum_squares = 0;
  std::vector<double> bucket_limit, bucket;
};
Histogram make_histogram(std::span<const float> values);

class EventWriter {
 public:
  // Creates `dir` if needed and a new file dir/events.out.tfevents.<unix seconds>.<hostname>
  // (".<n>" appended when that name is taken), then writes and flushes the file_version record.
  explicit EventWriter(const std::filesystem::path& dir);
  ~EventWriter();  // flushes and closes
  EventWriter(const EventWriter&) = delete;
  EventWriter& operator=(const EventWriter&) = delete;

  void add_scalar(std::string_view tag, double value, std::int64_t step);  // stored as float
  void add_histogram(std::string_view tag, std::span<const float> values, std::int64_t step);
  // `image` u8 [C, H, W] with C = 1 (gray), 2 (gray+alpha), 3 (RGB) or 4 (RGBA), stored as PNG.
  void add_image(std::string_view tag, const Tensor& image, std::int64_t step);
  // Pushes buffered records to the operating system (TensorBoard then sees them).
  void flush();

  const std::filesystem::path& path() const { return path_; }

 private:
  void write_summary(const std::string& summary, std::int64_t step);
  void write_record(const std::string& data);

  std::filesystem::path path_;
  std::FILE* file_ = nullptr;
};

}  // namespace convkit::io
