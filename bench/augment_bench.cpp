// Augmentation throughput: images/s delivered by the Loader (batch 128, MNIST 28x28) with no
// augmentation and with the MNIST set (rotation, shifts, zoom, elastic distortion), and the
// Augmenter, single transforms and the Mixer alone on one batch. The Loader's consumer does no
// work here, so the loader figures are the ceiling the worker thread can feed a trainer.
//
//   build/release/bench/augment_bench [--benchmark_filter=Loader]
//   Data: MNIST from $CONVKIT_DATA / the dataset cache (no download); else synthetic digits.
#include <convkit/data/augment.h>
#include <convkit/data/resolve.h>
#include <convkit/util/rng.h>

#include <benchmark/benchmark.h>

namespace data = convkit::data;

namespace {

constexpr std::int64_t kBatch = 128;
const std::vector<float> kMean{0.1307f}, kStd{0.3081f};

const data::Dataset& mnist() {
  static const data::Dataset d = [] {
    try {
      return data::load_dataset("mnist", {.allow_download = false}).train;
    } catch (const convkit::Error&) {  // synthetic stand-in: strokes of random brightness
      data::Dataset s;
      s.images = convkit::Tensor::zeros({60000, 1, 28, 28}, convkit::DType::u8);
      s.labels = convkit::Tensor::zeros({60000}, convkit::DType::i32);
      auto* px = s.images.data<std::uint8_t>();
      for (std::int64_t i = 0; i < 60000; ++i)
        for (int r = 6; r < 22; ++r)
          px[i * 784 + r * 28 + 8 + (r + i) % 12] = std::uint8_t(128 + i % 128);
      s.num_classes = 10;
      s.name = "synthetic";
      return s;
    }
  }();
  return d;
}

data::AugmentOptions mnist_set() {
  return {.rotation = 10,
          .width_shift = 0.1f,
          .height_shift = 0.1f,
          .zoom = {0.9f, 1.1f},
          .fill_mode = data::FillMode::Constant,
          .elastic = {.alpha = 34, .sigma = 4, .probability = 1}};
}

// Batches from the Loader, restarting epochs as needed; arg 0: augmentation off/on, arg 1:
// OpenMP threads for the augmenter (0: default).
void BM_Loader(benchmark::State& state) {
  data::LoaderOptions opts{
      .batch_size = kBatch, .seed = 1, .drop_last = true, .mean = kMean, .std = kStd};
  data::AugmentOptions aug = mnist_set();
  aug.threads = int(state.range(1));
  if (state.range(0)) opts.augment = data::make_augmenter(aug, 1, kMean, kStd);
  data::Loader loader(mnist(), opts);
  std::int64_t epoch = 0;
  loader.start_epoch(epoch);
  for (auto _ : state) {
    std::optional<data::BatchView> batch = loader.next();
    if (!batch) {  // end of the epoch: the next one's first batch
      loader.start_epoch(++epoch);
      batch.emplace(*loader.next());
    }
    benchmark::DoNotOptimize(batch->images.data<float>()[0]);
  }
  state.SetItemsProcessed(state.iterations() * kBatch);
  state.SetLabel(state.range(0) ? "mnist set" : "none");
}
BENCHMARK(BM_Loader)->Args({0, 0})->Args({1, 1})->Args({1, 0})->UseRealTime();

// One batch through an Augmenter configured by `which`: 0 MNIST set, 1 affine only, 2 elastic
// only, 3 flips + crop + brightness/contrast + cutout (the CIFAR-style set).
void BM_Augmenter(benchmark::State& state) {
  data::AugmentOptions o;
  switch (state.range(0)) {
    case 0:
      o = mnist_set();
      break;
    case 1:
      o = {.rotation = 10, .width_shift = 0.1f, .height_shift = 0.1f, .zoom = {0.9f, 1.1f}};
      break;
    case 2:
      o = {.elastic = {.alpha = 34, .sigma = 4}};
      break;
    default:
      o = {.horizontal_flip = 0.5f,
           .brightness = {0.8f, 1.2f},
           .contrast = {0.8f, 1.2f},
           .crop_padding = 4,
           .cutout = {.size = {8, 8}, .probability = 0.5f}};
  }
  o.threads = int(state.range(1));
  data::Augmenter augmenter(o, 1, kMean, kStd);
  const convkit::Tensor source = convkit::Tensor::empty({kBatch, 1, 28, 28});
  data::normalize(mnist().images.slice(0, kBatch), source, kMean, kStd);
  convkit::Tensor batch = source.clone();
  std::uint64_t b = 0;
  for (auto _ : state) {
    batch.copy_from(source);
    augmenter.apply(batch, 0, b++);
  }
  state.SetItemsProcessed(state.iterations() * kBatch);
  const char* names[] = {"mnist set", "affine", "elastic", "flip+crop+color+cutout"};
  state.SetLabel(names[std::min<std::int64_t>(state.range(0), 3)]);
}
BENCHMARK(BM_Augmenter)->ArgsProduct({{0, 1, 2, 3}, {1, 0}})->UseRealTime();

void BM_Mixer(benchmark::State& state) {
  data::Mixer mixer({.mixup = 0.2f, .cutmix = 1.0f, .threads = int(state.range(0))}, 1);
  convkit::Tensor batch = convkit::Tensor::empty({kBatch, 1, 28, 28});
  convkit::fill_uniform(batch.data<float>(), batch.numel(), 3, -0.4f, 2.8f);
  std::vector<int> partner(kBatch);
  std::vector<float> lambda(kBatch);
  std::uint64_t b = 0;
  for (auto _ : state) mixer.apply(batch, 0, b++, partner, lambda);
  state.SetItemsProcessed(state.iterations() * kBatch);
}
BENCHMARK(BM_Mixer)->Arg(1)->Arg(0)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
