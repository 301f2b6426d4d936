// TensorBoard event files: CRC32C against published check values; a written file parsed back by
// an independent reader defined here (TFRecord framing with a bitwise CRC32C, and a minimal
// protobuf decoder) to check every field we write; TensorFlow-style histogram buckets; the PNG
// encoder (decoded again with libpng through data::read_image) and image grids; the training
// callback's file after a short fit.
#include <convkit/data/image_file.h>
#include <convkit/io/tensorboard.h>
#include <convkit/train/tensorboard_callback.h>

#include <convkit/io/png_writer.h>
#include "io_test_util.h"

#include <gtest/gtest.h>

#include <bit>
#include <cfloat>
#include <chrono>
#include <cmath>
#include <map>
#include <numeric>
#include <string_view>

namespace convkit::io {
namespace {

using testing::read_bytes;
using testing::ScratchDir;
using testing::write_bytes;

// ---- An independent reader ------------------------------------------------------------------

// CRC-32C one bit at a time (no table), to check the writer's table-driven one.
std::uint32_t bitwise_crc32c(std::string_view bytes) {
  std::uint32_t c = 0xffffffffu;
  for (unsigned char b : bytes) {
    c ^= b;
    for (int k = 0; k < 8; ++k) c = (c >> 1) ^ (0x82F63B78u & (0u - (c & 1u)));
  }
  return ~c;
}
std::uint32_t masked(std::uint32_t crc) {
  return ((crc >> 15) | (crc << 17)) + 0xa282ead8u;
}

std::uint64_t little_endian(std::string_view bytes) {
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < bytes.size(); ++i)
    v |= std::uint64_t(static_cast<unsigned char>(bytes[i])) << (8 * i);
  return v;
}

// The TFRecords of a file; every length and data CRC is verified.
std::vector<std::string> read_records(const std::filesystem::path& path) {
  const std::string file = read_bytes(path);
  std::vector<std::string> records;
  std::size_t at = 0;
  while (at < file.size()) {
    EXPECT_LE(at + 12, file.size()) << "truncated record header at " << at;
    if (at + 12 > file.size()) break;
    const std::string_view header(file.data() + at, 12);
    const std::uint64_t length = little_endian(header.substr(0, 8));
    EXPECT_EQ(little_endian(header.substr(8, 4)), masked(bitwise_crc32c(header.substr(0, 8))))
        << "length CRC at " << at;
    EXPECT_LE(at + 12 + length + 4, file.size()) << "truncated record at " << at;
    if (at + 12 + length + 4 > file.size()) break;
    std::string data = file.substr(at + 12, length);
    EXPECT_EQ(little_endian(std::string_view(file).substr(at + 12 + length, 4)),
              masked(bitwise_crc32c(data)))
        << "data CRC at " << at;
    records.push_back(std::move(data));
    at += 12 + length + 4;
  }
  return records;
}

struct Field {
  int number = 0;
  int wire = 0;
  std::uint64_t value = 0;  // varint, or the raw bits of fixed64/fixed32
  std::string bytes;        // wire type 2
  double as_double() const { return std::bit_cast<double>(value); }
  float as_float() const { return std::bit_cast<float>(std::uint32_t(value)); }
};

std::uint64_t read_varint(std::string_view s, std::size_t& at) {
  std::uint64_t v = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    if (at >= s.size()) throw std::runtime_error("varint runs past the end");
    const auto b = static_cast<unsigned char>(s[at++]);
    v |= std::uint64_t(b & 0x7f) << shift;
    if (!(b & 0x80)) return v;
  }
  throw std::runtime_error("varint longer than 10 bytes");
}

std::vector<Field> decode(std::string_view s) {
  std::vector<Field> fields;
  std::size_t at = 0;
  while (at < s.size()) {
    const std::uint64_t key = read_varint(s, at);
    Field f{.number = int(key >> 3), .wire = int(key & 7)};
    if (f.wire == 0) {
      f.value = read_varint(s, at);
    } else if (f.wire == 1 || f.wire == 5) {
      const std::size_t n = f.wire == 1 ? 8 : 4;
      if (at + n > s.size()) throw std::runtime_error("fixed field runs past the end");
      f.value = little_endian(s.substr(at, n));
      at += n;
    } else if (f.wire == 2) {
      const std::uint64_t n = read_varint(s, at);
      if (at + n > s.size()) throw std::runtime_error("bytes field runs past the end");
      f.bytes = std::string(s.substr(at, n));
      at += n;
    } else {
      throw std::runtime_error("unexpected wire type " + std::to_string(f.wire));
    }
    fields.push_back(std::move(f));
  }
  return fields;
}

// The one field `number` of a message (a test failure when absent or repeated).
Field one(const std::vector<Field>& message, int number) {
  std::vector<Field> hits;
  for (const auto& f : message)
    if (f.number == number) hits.push_back(f);
  EXPECT_EQ(hits.size(), 1u) << "field " << number;
  return hits.empty() ? Field{} : hits[0];
}
bool has(const std::vector<Field>& message, int number) {
  return std::any_of(message.begin(), message.end(),
                     [&](const Field& f) { return f.number == number; });
}
std::vector<double> packed_doubles(const Field& f) {
  EXPECT_EQ(f.wire, 2);
  EXPECT_EQ(f.bytes.size() % 8, 0u);
  std::vector<double> out;
  for (std::size_t i = 0; i + 8 <= f.bytes.size(); i += 8)
    out.push_back(std::bit_cast<double>(little_endian(std::string_view(f.bytes).substr(i, 8))));
  return out;
}

// An Event's summary value: {tag, the payload field}.
struct DecodedEvent {
  double wall_time = 0;
  std::int64_t step = 0;
  std::string tag;
  Field payload;
};
DecodedEvent decode_summary_event(const std::string& record) {
  const auto event = decode(record);
  DecodedEvent out{.wall_time = one(event, 1).as_double(),
                   .step = std::int64_t(one(event, 2).value)};
  const auto summary = decode(one(event, 5).bytes);
  const auto value = decode(one(summary, 1).bytes);
  out.tag = one(value, 1).bytes;
  EXPECT_EQ(value.size(), 2u);
  for (const auto& f : value)
    if (f.number != 1) out.payload = f;
  return out;
}

Tensor test_image(std::int64_t c, std::int64_t h, std::int64_t w) {
  Tensor t = Tensor::empty({c, h, w}, DType::u8);
  auto* p = t.data<std::uint8_t>();
  for (std::int64_t i = 0; i < t.numel(); ++i) p[i] = std::uint8_t((i * 37 + i / 7) % 256);
  return t;
}

// ---- Tests ----------------------------------------------------------------------------------

TEST(Crc32cTest, PublishedCheckValues) {
  // The CRC catalogue's check value, and the iSCSI test vectors of RFC 3720, appendix B.4.
  EXPECT_EQ(crc32c("123456789", 9), 0xE3069283u);
  std::string zeros(32, '\0'), ones(32, '\xff'), up(32, '\0'), down(32, '\0');
  for (int i = 0; i < 32; ++i) up[i] = char(i), down[i] = char(31 - i);
  EXPECT_EQ(crc32c(zeros.data(), 32), 0x8A9136AAu);
  EXPECT_EQ(crc32c(ones.data(), 32), 0x62A8AB43u);
  EXPECT_EQ(crc32c(up.data(), 32), 0x46DD794Eu);
  EXPECT_EQ(crc32c(down.data(), 32), 0x113FDB5Cu);
  EXPECT_EQ(crc32c("", 0), 0u);
}

TEST(Crc32cTest, ExtendMaskAndBitwiseAgree) {
  const std::string text = "The quick brown fox jumps over the lazy dog";
  EXPECT_EQ(crc32c(text.data(), text.size()), 0x22620404u);  // a widely published CRC-32C value
  EXPECT_EQ(crc32c_extend(crc32c(text.data(), 10), text.data() + 10, text.size() - 10),
            crc32c(text.data(), text.size()));
  for (std::size_t n = 0; n < text.size(); ++n)
    EXPECT_EQ(crc32c(text.data(), n), bitwise_crc32c(text.substr(0, n)));
  EXPECT_EQ(mask_crc32c(0), 0xa282ead8u);
  EXPECT_EQ(mask_crc32c(0x12345678u), masked(0x12345678u));
}

TEST(HistogramTest, TensorFlowDefaultBuckets) {
  const std::vector<float> values{0.0f, 1.0f, 1.0f, -1.0f, 1e-13f, 5.0f, NAN};
  const Histogram h = make_histogram(values);
  EXPECT_EQ(h.num, 6);  // NaN skipped
  EXPECT_EQ(h.min, -1.0);
  EXPECT_EQ(h.max, 5.0);
  EXPECT_DOUBLE_EQ(h.sum, 0.0 + 1 + 1 - 1 + double(1e-13f) + 5);
  EXPECT_NEAR(h.sum_squares, 28.0, 1e-12);
  ASSERT_EQ(h.bucket_limit.size(), h.bucket.size());
  EXPECT_DOUBLE_EQ(std::accumulate(h.bucket.begin(), h.bucket.end(), 0.0), 6.0);
  EXPECT_TRUE(std::is_sorted(h.bucket_limit.begin(), h.bucket_limit.end()));
  EXPECT_EQ(h.bucket_limit.back(), DBL_MAX);
  // Each value lies in [previous limit, limit) of a bucket that counts it.
  auto bucket_of = [&](double v) {
    return std::size_t(std::upper_bound(h.bucket_limit.begin(), h.bucket_limit.end(), v) -
                       h.bucket_limit.begin());
  };
  EXPECT_EQ(h.bucket[bucket_of(1.0)], 2);
  EXPECT_EQ(h.bucket[bucket_of(5.0)], 1);
  EXPECT_EQ(h.bucket[bucket_of(-1.0)], 1);
  // TensorFlow's edges are ..., -1e-12, 0, 1e-12, ...: 0 and 1e-13 both fall in [0, 1e-12).
  EXPECT_EQ(bucket_of(0.0), bucket_of(double(1e-13f)));
  EXPECT_EQ(h.bucket[bucket_of(0.0)], 2);
  EXPECT_EQ(h.bucket_limit[bucket_of(0.0)], 1e-12);
  // Runs of empty buckets are merged: no two empty buckets are neighbours.
  for (std::size_t i = 1; i < h.bucket.size(); ++i)
    EXPECT_FALSE(h.bucket[i] == 0 && h.bucket[i - 1] == 0) << i;
  // Limits around 1.0 follow 1e-12 * 1.1^k.
  const double above_one = h.bucket_limit[bucket_of(1.0)];
  EXPECT_GT(above_one, 1.0);
  EXPECT_LT(above_one, 1.1);

  const Histogram empty = make_histogram({});
  EXPECT_EQ(empty.num, 0);
  EXPECT_EQ(empty.bucket_limit, std::vector<double>{DBL_MAX});
}

TEST(EventWriterTest, FileParsesBackWithEveryField) {
  ScratchDir dir;
  const double before =
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  std::vector<float> weights(1000);
  for (std::size_t i = 0; i < weights.size(); ++i) weights[i] = std::sin(float(i)) * 0.1f;
  const Tensor gray = test_image(1, 5, 7), rgb = test_image(3, 4, 6);
  std::filesystem::path path;
  {
    EventWriter events(dir / "run");
    path = events.path();
    events.add_scalar("loss", 0.625, 1);
    events.add_scalar("val/accuracy", 0.9921875, 2);
    events.add_histogram("weights/dense.weight", weights, 3);
    events.add_image("misclassified", gray, 4);
    events.add_image("rgb", rgb, 5);
    events.flush();
  }
  const double after =
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  EXPECT_EQ(path.parent_path(), dir / "run");
  EXPECT_EQ(path.filename().string().rfind("events.out.tfevents.", 0), 0u) << path;

  const auto records = read_records(path);
  ASSERT_EQ(records.size(), 6u);
  const auto first = decode(records[0]);
  EXPECT_EQ(one(first, 3).bytes, "brain.Event:2");
  EXPECT_FALSE(has(first, 5));

  auto e = decode_summary_event(records[1]);
  EXPECT_GE(e.wall_time, std::floor(before));
  EXPECT_LE(e.wall_time, after + 1);
  EXPECT_EQ(e.step, 1);
  EXPECT_EQ(e.tag, "loss");
  EXPECT_EQ(e.payload.number, 2);
  EXPECT_EQ(e.payload.wire, 5);
  EXPECT_EQ(e.payload.as_float(), 0.625f);
  e = decode_summary_event(records[2]);
  EXPECT_EQ(e.step, 2);
  EXPECT_EQ(e.tag, "val/accuracy");
  EXPECT_EQ(e.payload.as_float(), 0.9921875f);

  e = decode_summary_event(records[3]);
  EXPECT_EQ(e.step, 3);
  EXPECT_EQ(e.tag, "weights/dense.weight");
  ASSERT_EQ(e.payload.number, 5);
  const auto histo = decode(e.payload.bytes);
  const Histogram expected = make_histogram(weights);
  EXPECT_EQ(one(histo, 1).as_double(), expected.min);
  EXPECT_EQ(one(histo, 2).as_double(), expected.max);
  EXPECT_EQ(one(histo, 3).as_double(), 1000.0);
  EXPECT_EQ(one(histo, 4).as_double(), expected.sum);
  EXPECT_EQ(one(histo, 5).as_double(), expected.sum_squares);
  EXPECT_EQ(packed_doubles(one(histo, 6)), expected.bucket_limit);
  const auto counts = packed_doubles(one(histo, 7));
  EXPECT_EQ(counts, expected.bucket);
  EXPECT_DOUBLE_EQ(std::accumulate(counts.begin(), counts.end(), 0.0), 1000.0);
  EXPECT_NEAR(expected.min, -0.1, 1e-3);
  EXPECT_NEAR(expected.max, 0.1, 1e-3);

  int index = 4;
  for (const Tensor* image : {&gray, &rgb}) {
    e = decode_summary_event(records[std::size_t(index)]);
    EXPECT_EQ(e.step, index);
    ASSERT_EQ(e.payload.number, 4);
    const auto img = decode(e.payload.bytes);
    EXPECT_EQ(std::int64_t(one(img, 1).value), image->dim(1));               // height
    EXPECT_EQ(std::int64_t(one(img, 2).value), image->dim(2));               // width
    EXPECT_EQ(std::int64_t(one(img, 3).value), image->dim(0) == 1 ? 1 : 3);  // colorspace
    const auto png = dir / ("decoded" + std::to_string(index) + ".png");
    write_bytes(png, one(img, 4).bytes);
    EXPECT_TRUE(testing::same_bits(data::read_image(png), *image));
    ++index;
  }
}

TEST(EventWriterTest, TwoWritersInOneDirectoryGetDistinctFiles) {
  ScratchDir dir;
  EventWriter a(dir.path()), b(dir.path());
  EXPECT_NE(a.path(), b.path());
  a.add_scalar("x", 1, -1);  // a negative step is a ten-byte varint
  a.flush();
  const auto records = read_records(a.path());
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(decode_summary_event(records[1]).step, -1);
  EXPECT_EQ(read_records(b.path()).size(), 1u);
}

TEST(EventWriterTest, BadImagesAndDirectoriesAreErrors) {
  ScratchDir dir;
  EventWriter events(dir.path());
  EXPECT_THROW(events.add_image("x", Tensor::zeros({5, 2, 2}, DType::u8), 0), Error);
  EXPECT_THROW(events.add_image("x", Tensor::zeros({1, 2, 2}), 0), Error);  // f32
  write_bytes(dir / "file", "x");
  EXPECT_THROW(EventWriter(dir / "file" / "sub"), Error);
}

TEST(PngWriterTest, RoundTripsAndIsDeterministic) {
  ScratchDir dir;
  for (std::int64_t c : {1, 3}) {
    const Tensor image = test_image(c, 9, 11);
    const std::string bytes = encode_png(image);
    EXPECT_EQ(bytes.substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8));
    EXPECT_EQ(bytes, encode_png(image.clone()));
    write_png(dir / "a.png", image);
    EXPECT_TRUE(testing::same_bits(data::read_image(dir / "a.png"), image)) << c;
  }
}

TEST(PngWriterTest, GridTilesImagesRowByRow) {
  Tensor batch = Tensor::empty({5, 1, 2, 3}, DType::u8);
  for (std::int64_t i = 0; i < 5; ++i)
    for (std::int64_t j = 0; j < 6; ++j)
      batch.data<std::uint8_t>()[i * 6 + j] = std::uint8_t(100 + i);
  const std::vector<std::int64_t> order{4, 0, 2};
  const Tensor grid = image_grid(batch, order, {.columns = 2, .padding = 1, .background = 7});
  ASSERT_EQ(grid.shape(), (Shape{1, 2 * 3 + 1, 2 * 4 + 1}));
  const auto* g = grid.data<std::uint8_t>();
  auto at = [&](int y, int x) { return int(g[y * 9 + x]); };
  EXPECT_EQ(at(0, 0), 7);
  EXPECT_EQ(at(1, 1), 104);  // first tile: image 4
  EXPECT_EQ(at(2, 3), 104);
  EXPECT_EQ(at(1, 4), 7);    // padding between tiles
  EXPECT_EQ(at(1, 5), 100);  // second tile: image 0
  EXPECT_EQ(at(4, 1), 102);  // second row: image 2
  EXPECT_EQ(at(4, 5), 7);    // empty slot
  EXPECT_THROW(image_grid(batch, std::vector<std::int64_t>{5}), Error);
  EXPECT_THROW(image_grid(batch, std::vector<std::int64_t>{}), Error);
}

data::Dataset toy_dataset(std::int64_t n, int seed) {
  data::Dataset d;
  d.images = Tensor::empty({n, 1, 4, 4}, DType::u8);
  d.labels = Tensor::empty({n}, DType::i32);
  for (std::int64_t i = 0; i < d.images.numel(); ++i)
    d.images.data<std::uint8_t>()[i] = std::uint8_t((i * 97 + seed) % 256);
  for (std::int64_t i = 0; i < n; ++i)
    d.labels.data<std::int32_t>()[i] = std::int32_t((i * 7 + seed) % 3);
  d.num_classes = 3;
  d.class_names = {"a", "b", "c"};
  return d;
}

TEST(TensorBoardCallbackTest, LogsScalarsHistogramsAndImagesPerEpoch) {
  ScratchDir dir;
  nn::Model model = nn::sequential({1, 4, 4}, {nn::Flatten{}, nn::Dense{.units = 3}});
  model.initialize(3);
  const data::Dataset train_set = toy_dataset(40, 1), validation = toy_dataset(20, 2);
  auto sgd = optim::make_optimizer("sgd", {{"lr", 0.01}});
  train::FitOptions fit;
  fit.epochs = 2;
  fit.batch_size = 8;
  fit.progress = false;
  train::Trainer trainer(model, *sgd, fit);
  train::TensorBoardCallback tensorboard(dir / "run", &validation, {.max_images = 4});
  train::TensorBoardCallback disabled(dir / "off", &validation, {.enabled = false});
  trainer.fit(train_set, &validation, {&tensorboard, &disabled});
  EXPECT_FALSE(std::filesystem::exists(dir / "off"));
  EXPECT_TRUE(disabled.path().empty());

  const auto records = read_records(tensorboard.path());
  ASSERT_GT(records.size(), 1u);
  EXPECT_EQ(one(decode(records[0]), 3).bytes, "brain.Event:2");
  std::map<std::string, std::vector<std::int64_t>> steps;  // tag -> steps logged
  std::map<std::string, int> payloads;                     // tag -> payload field number
  for (std::size_t i = 1; i < records.size(); ++i) {
    const auto e = decode_summary_event(records[i]);
    steps[e.tag].push_back(e.step);
    payloads[e.tag] = e.payload.number;
    if (e.tag == "loss")
      EXPECT_FLOAT_EQ(e.payload.as_float(),
                      float(trainer.history().epochs[std::size_t(e.step - 1)].loss));
    if (e.tag == "misclassified") {
      const auto img = decode(e.payload.bytes);
      EXPECT_EQ(one(img, 3).value, 1u);      // gray
      EXPECT_EQ(one(img, 1).value % 6, 2u);  // rows of 4-pixel tiles with 2-pixel padding
    }
  }
  const std::vector<std::int64_t> both{1, 2};
  for (const char* tag :
       {"loss", "accuracy", "val_loss", "val_accuracy", "lr", "images_per_second"}) {
    EXPECT_EQ(steps[tag], both) << tag;
    EXPECT_EQ(payloads[tag], 2) << tag;
  }
  for (const char* tag : {"weights/dense.weight", "weights/dense.bias", "gradients/dense.weight",
                          "gradients/dense.bias"}) {
    EXPECT_EQ(steps[tag], both) << tag;
    EXPECT_EQ(payloads[tag], 5) << tag;
  }
  EXPECT_EQ(steps["misclassified"], both)
      << "a model this small gets some of the random labels wrong";
  EXPECT_EQ(payloads["misclassified"], 4);
}

}  // namespace
}  // namespace convkit::io
