// Micro-benchmark: one training step (forward, backward, Adam update) of small CNNs on
// batch 128 of 28x28x1 images, and batch-1 / batch-128 inference. Reports steps/s, images/s
// and achieved GFLOP/s (a training step counted as 3x the forward FLOPs).
//
//   build/release/bench/train_step_bench [--benchmark_format=json] [--benchmark_min_time=2]
//   OMP_NUM_THREADS=2 pins the thread count (oneDNN and our loops both use OpenMP).
#include <convkit/convkit.h>

#include <benchmark/benchmark.h>

namespace nn = convkit::nn;
namespace train = convkit::train;

namespace {

// The classic Keras/PyTorch MNIST CNN (conv 32, conv 64, maxpool, dropout, dense 128, dense 10).
nn::Model mnist_cnn() {
  return nn::sequential({1, 28, 28},
                        {nn::Conv2D{.filters = 32, .kernel = 3, .activation = nn::Activation::ReLU},
                         nn::Conv2D{.filters = 64, .kernel = 3, .activation = nn::Activation::ReLU},
                         nn::MaxPool2D{.pool = 2}, nn::Dropout{.rate = 0.25}, nn::Flatten{},
                         nn::Dense{.units = 128, .activation = nn::Activation::ReLU},
                         nn::Dropout{.rate = 0.5}, nn::Dense{.units = 10}});
}

// A small CNN with batch norm: conv 5x5/24 + BN, conv 3x3/32 + BN, dense 256.
nn::Model small_bn_cnn() {
  return nn::sequential(
      {1, 28, 28},
      {nn::Conv2D{.filters = 24, .kernel = 5, .use_bias = false},
       nn::BatchNorm{.activation = nn::Activation::ReLU}, nn::MaxPool2D{.pool = 2},
       nn::Conv2D{.filters = 32, .kernel = 3, .use_bias = false},
       nn::BatchNorm{.activation = nn::Activation::ReLU}, nn::MaxPool2D{.pool = 2}, nn::Flatten{},
       nn::Dense{.units = 256, .activation = nn::Activation::ReLU}, nn::Dense{.units = 10}});
}

void fill(nn::Plan& plan, bool labels) {
  convkit::Tensor x = plan.input();
  convkit::fill_uniform(x.data<float>(), x.numel(), 1, 0.0f, 1.0f);
  if (!labels) return;
  convkit::Tensor y = plan.labels();
  for (std::int64_t i = 0; i < y.numel(); ++i) y.data<std::int32_t>()[i] = std::int32_t(i % 10);
}

void train_step(benchmark::State& state, nn::Model (*build)()) {
  nn::Model model = build();
  model.initialize(1);
  const std::int64_t batch = state.range(0);
  nn::Plan plan = model.compile_training({.batch = batch});
  auto adam = convkit::optim::make_adam({.lr = 1e-3});
  fill(plan, true);
  train::train_step(plan, *adam);  // warm-up: first-call setup
  for (auto _ : state) benchmark::DoNotOptimize(train::train_step(plan, *adam));
  state.counters["steps/s"] =
      benchmark::Counter(double(state.iterations()), benchmark::Counter::kIsRate);
  state.counters["images/s"] =
      benchmark::Counter(double(state.iterations() * batch), benchmark::Counter::kIsRate);
  state.counters["GFLOP/s"] = benchmark::Counter(
      3.0 * model.flops_per_sample() * double(batch) * double(state.iterations()) * 1e-9,
      benchmark::Counter::kIsRate);
}

void inference(benchmark::State& state, nn::Model (*build)()) {
  nn::Model model = build();
  model.initialize(1);
  const std::int64_t batch = state.range(0);
  nn::Plan plan = model.compile_inference({.batch = batch});
  fill(plan, false);
  plan.forward();
  for (auto _ : state) plan.forward();
  state.counters["images/s"] =
      benchmark::Counter(double(state.iterations() * batch), benchmark::Counter::kIsRate);
}

}  // namespace

BENCHMARK_CAPTURE(train_step, mnist_cnn, &mnist_cnn)
    ->Arg(128)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK_CAPTURE(train_step, small_bn_cnn, &small_bn_cnn)
    ->Arg(128)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK_CAPTURE(inference, mnist_cnn, &mnist_cnn)
    ->Arg(1)
    ->Arg(128)
    ->Unit(benchmark::kMicrosecond)
    ->UseRealTime();

BENCHMARK_MAIN();
