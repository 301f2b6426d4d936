// Data-parallel shards of the Loader: rank r of N takes rows [r*b, (r+1)*b) of every global
// batch of N*b, so the shards together are exactly the unsharded loader's batches (indices,
// labels, pixels, augmentation draws included), epoch after epoch and from a resumed position;
// a shard needs drop_last and a rank within range.
#include <convkit/data/augment.h>
#include <convkit/data/loader.h>
#include <convkit/util/error.h>

#include <gtest/gtest.h>

#include "data/data_test_util.h"

#include <vector>

namespace convkit::data {
namespace {

LoaderOptions options(std::int64_t batch, int shard, int shards) {
  LoaderOptions o{.batch_size = batch, .shuffle = true, .seed = 9, .drop_last = true};
  o.mean = {0.5f};
  o.std = {0.25f};
  // Rotation and cutout: per-sample random draws that must follow the sample's global row.
  o.augment = make_augmenter({.rotation = 15, .cutout = {.size = {2, 3}, .probability = 0.5}}, 9,
                             o.mean, o.std);
  o.shard = shard;
  o.shards = shards;
  return o;
}

struct Batch {
  std::vector<std::int64_t> indices;
  std::vector<float> pixels;
};

std::vector<Batch> epoch_batches(Loader& loader, std::int64_t epoch, std::int64_t from = 0) {
  loader.set_position(epoch, from);
  std::vector<Batch> out;
  while (auto b = loader.next())
    out.push_back({{b->indices.begin(), b->indices.end()},
                   {b->images.data<float>(), b->images.data<float>() + b->images.numel()}});
  return out;
}

TEST(LoaderShardTest, ShardsTogetherAreTheGlobalBatches) {
  const Dataset d = testing::synthetic(103, 1, 8, 8);  // 103 = 6 global batches of 16 + 7 left
  Loader whole(d, options(16, 0, 1));
  Loader rank0(d, options(8, 0, 2)), rank1(d, options(8, 1, 2));
  EXPECT_EQ(rank0.batches_per_epoch(), 6);
  EXPECT_EQ(rank1.batches_per_epoch(), whole.batches_per_epoch());
  for (std::int64_t epoch : {0, 3}) {
    const auto g = epoch_batches(whole, epoch), a = epoch_batches(rank0, epoch),
               b = epoch_batches(rank1, epoch);
    ASSERT_EQ(a.size(), g.size());
    ASSERT_EQ(b.size(), g.size());
    const std::size_t half = g[0].pixels.size() / 2;
    for (std::size_t k = 0; k < g.size(); ++k) {
      std::vector<std::int64_t> joined = a[k].indices;
      joined.insert(joined.end(), b[k].indices.begin(), b[k].indices.end());
      EXPECT_EQ(joined, g[k].indices) << "epoch " << epoch << " batch " << k;
      EXPECT_EQ(a[k].pixels, std::vector<float>(g[k].pixels.begin(), g[k].pixels.begin() + half));
      EXPECT_EQ(b[k].pixels, std::vector<float>(g[k].pixels.begin() + half, g[k].pixels.end()))
          << "augmentation of rank 1's rows differs from the same rows of the global batch";
    }
  }
  // Resuming mid-epoch gives the rest of the same shard.
  const auto full = epoch_batches(rank1, 2), rest = epoch_batches(rank1, 2, 4);
  ASSERT_EQ(rest.size(), 2u);
  EXPECT_EQ(rest[0].indices, full[4].indices);
  EXPECT_EQ(rest[1].pixels, full[5].pixels);
}

TEST(LoaderShardTest, RefusesShardsWithoutDropLastOrOutOfRange) {
  const Dataset d = testing::synthetic(40);
  LoaderOptions keep_last = options(4, 0, 2);
  keep_last.drop_last = false;
  EXPECT_THROW(Loader(d, keep_last), Error);
  EXPECT_THROW(Loader(d, options(4, 2, 2)), Error);
  EXPECT_THROW(Loader(d, options(4, -1, 2)), Error);
  EXPECT_THROW(Loader(d, options(4, 0, 0)), Error);
}

}  // namespace
}  // namespace convkit::data
