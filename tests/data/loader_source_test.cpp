// The Loader over streaming sources: images of different sizes brought to the sample shape in the
// workers, batches identical for any number of workers (with random crops and an augment hook),
// unreadable samples failing with their name or standing in deterministically, and read-ahead
// bounded by the slot ring however large the source.
#include <convkit/data/loader.h>

#include <gtest/gtest.h>

#include "data/data_test_util.h"

#include <atomic>
#include <chrono>
#include <cstring>
#include <set>
#include <thread>

namespace convkit::data {
namespace {

using testing::error_of;
using testing::synthetic;

// Sample i: a c x (20 + i % 7) x (30 + i % 11) image whose pixels depend on i; samples in `bad`
// throw. Reads are counted, and odd samples take a little longer (workers finish out of order).
class VaryingSource final : public Source {
 public:
  explicit VaryingSource(std::int64_t n, std::set<std::int64_t> bad = {}, std::int64_t c = 3)
      : n_(n), c_(c), bad_(std::move(bad)) {
    name_ = "varying";
    class_names_ = {"a", "b", "c"};
  }
  std::int64_t size() const override { return n_; }
  std::int32_t label(std::int64_t i) const override { return std::int32_t(i % 3); }
  Tensor image(std::int64_t i) const override {
    ++reads;
    if (bad_.count(i)) fail("{}: corrupt", sample_name(i));
    if (i % 2) std::this_thread::sleep_for(std::chrono::microseconds(200));
    const std::int64_t h = 20 + i % 7, w = 30 + i % 11;
    Tensor t = Tensor::empty({c_, h, w}, DType::u8);
    auto* p = t.data<std::uint8_t>();
    for (std::int64_t j = 0; j < t.numel(); ++j) p[j] = std::uint8_t((j * 13 + i * 71) % 256);
    return t;
  }
  mutable std::atomic<long> reads{0};

 private:
  std::int64_t n_, c_;
  std::set<std::int64_t> bad_;
};

struct Epoch {
  std::vector<float> pixels;
  std::vector<std::int32_t> labels;
  std::vector<std::int64_t> indices;
};

Epoch run(Loader& loader, std::int64_t epoch) {
  Epoch out;
  loader.start_epoch(epoch);
  while (auto b = loader.next()) {
    const float* p = b->images.data<float>();
    out.pixels.insert(out.pixels.end(), p, p + b->images.numel());
    const std::int32_t* y = b->labels.data<std::int32_t>();
    out.labels.insert(out.labels.end(), y, y + b->labels.numel());
    out.indices.insert(out.indices.end(), b->indices.begin(), b->indices.end());
  }
  return out;
}

LoaderOptions options(int workers) {
  LoaderOptions o{.batch_size = 8, .seed = 11, .mean = {0.5f}, .std = {0.25f}, .workers = workers};
  o.geometry = Geometry{.channels = 3, .height = 16, .width = 24, .random_crop = {.enabled = true}};
  // A hook that depends on (epoch, batch) only, like the augmenter.
  o.augment = [](Tensor& x, std::uint64_t epoch, std::uint64_t batch, std::uint64_t) {
    x.data<float>()[0] = float(epoch * 1000 + batch);
  };
  return o;
}

TEST(LoaderSource, SameBatchesForAnyNumberOfWorkers) {
  auto source = std::make_shared<VaryingSource>(61);
  Loader one(source, options(1));
  Loader three(source, options(3));
  EXPECT_EQ(one.sample_shape(), (Shape{3, 16, 24}));
  for (std::int64_t epoch : {0, 1}) {
    const Epoch a = run(one, epoch), b = run(three, epoch);
    ASSERT_EQ(a.indices.size(), 61u);
    EXPECT_EQ(a.indices, b.indices);
    EXPECT_EQ(a.labels, b.labels);
    ASSERT_EQ(a.pixels.size(), b.pixels.size());
    EXPECT_EQ(0, std::memcmp(a.pixels.data(), b.pixels.data(), a.pixels.size() * sizeof(float)));
    std::set<std::int64_t> seen(a.indices.begin(), a.indices.end());
    EXPECT_EQ(seen.size(), 61u);
  }
  // Random crops differ between epochs.
  const Epoch e0 = run(one, 0), e1 = run(one, 1);
  EXPECT_NE(0, std::memcmp(e0.pixels.data() + 1, e1.pixels.data() + 1, 100 * sizeof(float)));
}

TEST(LoaderSource, ResumesMidEpochWithWorkers) {
  auto source = std::make_shared<VaryingSource>(45);
  Loader loader(source, options(2));
  const Epoch whole = run(loader, 3);
  loader.set_position(3, 2);
  std::vector<std::int64_t> rest;
  while (auto b = loader.next()) rest.insert(rest.end(), b->indices.begin(), b->indices.end());
  EXPECT_EQ(rest, std::vector<std::int64_t>(whole.indices.begin() + 16, whole.indices.end()));
}

TEST(LoaderSource, UnreadableSampleFailsNamingIt) {
  auto source = std::make_shared<VaryingSource>(40, std::set<std::int64_t>{17});
  LoaderOptions o = options(3);
  o.shuffle = false;
  Loader loader(source, o);
  loader.start_epoch(0);
  int delivered = 0;
  const std::string message = error_of([&] {
    while (loader.next()) ++delivered;
  });
  EXPECT_EQ(delivered, 2);  // batches 0 and 1 come before the one holding sample 17
  EXPECT_HAS(message, "varying[17]: corrupt");
  EXPECT_HAS(error_of([&] { loader.next(); }), "varying[17]");  // the epoch cannot go on
  // ... but a new epoch may start (and fails where it meets the sample).
  EXPECT_HAS(error_of([&] { run(loader, 1); }), "varying[17]");
}

TEST(LoaderSource, SkippedSamplesAreReplacedTheSameWayForAnyWorkers) {
  auto source = std::make_shared<VaryingSource>(40, std::set<std::int64_t>{3, 4, 20});
  LoaderOptions o = options(1);
  o.skip_unreadable = true;
  Loader one(source, o);
  o.workers = 4;
  Loader four(source, o);
  const Epoch a = run(one, 2), b = run(four, 2);
  EXPECT_EQ(a.indices, b.indices);
  EXPECT_EQ(0, std::memcmp(a.pixels.data(), b.pixels.data(), a.pixels.size() * sizeof(float)));
  ASSERT_EQ(a.indices.size(), 40u);
  for (std::int64_t i : a.indices) EXPECT_TRUE(i != 3 && i != 4 && i != 20) << i;
  EXPECT_EQ(one.skipped().size(), 3u);
  EXPECT_HAS(one.skipped()[0], "corrupt");
}

TEST(LoaderSource, ReadsAheadOnlyAsFarAsTheRing) {
  auto source = std::make_shared<VaryingSource>(100000);
  LoaderOptions o = options(2);
  o.prefetch = 2;  // slots = max(prefetch, workers) + 1 = 3
  Loader loader(source, o);
  loader.start_epoch(0);
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  EXPECT_LE(source->reads.load(), 3 * 8);
  auto b = loader.next();
  ASSERT_TRUE(b);
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_LE(source->reads.load(), 4 * 8);
}

TEST(LoaderSource, ResizesAnInMemoryDatasetAndRefusesMixedSizesWithoutGeometry) {
  // A grey 4 x 4 dataset of constant images, brought to RGB 2 x 2.
  Dataset d = synthetic(10, 1, 4, 4);
  for (std::int64_t i = 0; i < 10; ++i)
    std::memset(static_cast<std::uint8_t*>(d.images.raw()) + i * 16, int(i * 20), 16);
  LoaderOptions o{.batch_size = 5, .shuffle = false};
  o.geometry = Geometry{.channels = 3, .height = 2, .width = 2};
  Loader resized(d, o);
  EXPECT_EQ(resized.sample_shape(), (Shape{3, 2, 2}));
  const Epoch e = run(resized, 0);
  ASSERT_EQ(e.pixels.size(), 10u * 12u);
  EXPECT_FLOAT_EQ(e.pixels[12 * 3 + 11], 60.0f / 255.0f);  // sample 3, last channel and pixel
  EXPECT_HAS(error_of([] { Loader(std::make_shared<VaryingSource>(5), LoaderOptions{}); }),
             "its images differ in size: give LoaderOptions::geometry");
  EXPECT_HAS(error_of([] {
               LoaderOptions bad;
               bad.workers = 0;
               Loader(synthetic(4), bad);
             }),
             "workers 0");
}

}  // namespace
}  // namespace convkit::data
