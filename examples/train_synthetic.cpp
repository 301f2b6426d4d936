// Example: build a small CNN with the public API and train it on a synthetic, learnable problem
// (noisy 16x16 images of a bar: horizontal, vertical, diagonal or anti-diagonal -> 4 classes).
// Exits 0 once the loss has fallen 10x below its starting value, 1 if it never does.
//
//   build/release/examples/train_synthetic [--steps N] [--threads T]
#include <convkit/convkit.h>

#include <fmt/format.h>

#include <omp.h>
#include <cmath>
#include <cstdlib>
#include <cstring>

namespace nn = convkit::nn;
namespace optim = convkit::optim;
namespace train = convkit::train;

namespace {

constexpr int kSize = 16;
constexpr int kClasses = 4;

// Writes a batch of noisy bar images and their labels, deterministic from (seed, step).
void make_batch(const convkit::Tensor& images, const convkit::Tensor& labels, std::uint64_t step) {
  const std::int64_t n = images.dim(0);
  float* x = images.data<float>();
  std::int32_t* y = labels.data<std::int32_t>();
  convkit::fill_normal(x, images.numel(), convkit::derive_key(step, "noise"), 0.0f, 0.3f);
  for (std::int64_t i = 0; i < n; ++i) {
    auto r = convkit::philox(convkit::derive_key(step, "bars"), std::uint64_t(i));
    const int label = int(r[0] % kClasses);
    const int offset = int(r[1] % 9) - 4;  // where the bar sits
    y[i] = label;
    float* img = x + i * kSize * kSize;
    for (int a = 0; a < kSize; ++a)
      for (int w = -1; w <= 1; ++w) {
        int b = kSize / 2 + offset + w, row = 0, col = 0;
        switch (label) {
          case 0:
            row = b, col = a;
            break;  // horizontal
          case 1:
            row = a, col = b;
            break;  // vertical
          case 2:
            row = a, col = a + offset + w;
            break;  // diagonal
          default:
            row = a, col = kSize - 1 - a + offset + w;  // anti-diagonal
        }
        if (row >= 0 && row < kSize && col >= 0 && col < kSize) img[row * kSize + col] += 1.0f;
      }
  }
}

}  // namespace

int main(int argc, char** argv) {
  int max_steps = 300;
  for (int i = 1; i + 1 < argc; ++i) {
    if (!std::strcmp(argv[i], "--steps")) max_steps = std::atoi(argv[i + 1]);
    if (!std::strcmp(argv[i], "--threads")) omp_set_num_threads(std::atoi(argv[i + 1]));
  }
  try {
    auto model =
        nn::sequential({1, kSize, kSize}, {
                                              nn::Conv2D{.filters = 8,
                                                         .kernel = 3,
                                                         .padding = nn::Padding::Same,
                                                         .activation = nn::Activation::ReLU},
                                              nn::BatchNorm{},
                                              nn::MaxPool2D{.pool = 2},
                                              nn::Conv2D{.filters = 16,
                                                         .kernel = 3,
                                                         .padding = nn::Padding::Same,
                                                         .activation = nn::Activation::ReLU},
                                              nn::GlobalAvgPool2D{},
                                              nn::Dropout{.rate = 0.1},
                                              nn::Dense{.units = kClasses},
                                          });
    model.initialize(42);
    fmt::print("{}\n", model.summary());

    auto plan = model.compile_training({.batch = 32});
    auto adam = optim::make_adam({.lr = 3e-3});
    double first = 0, smoothed = 0;
    for (int step = 0; step < max_steps; ++step) {
      make_batch(plan.input(), plan.labels(), std::uint64_t(step));
      const float loss = train::train_step(plan, *adam);
      if (!std::isfinite(loss)) {
        fmt::print(stderr, "step {}: loss is {}\n", step, loss);
        return 1;
      }
      smoothed = step == 0 ? loss : 0.9 * smoothed + 0.1 * loss;
      if (step == 0) first = loss;
      if (step % 25 == 0)
        fmt::print("step {:4d}  loss {:.4f}  (smoothed {:.4f})\n", step, loss, smoothed);
      if (step >= 20 && smoothed < first / 10) {
        fmt::print("loss fell 10x: {:.4f} -> {:.4f} after {} steps\n", first, smoothed, step + 1);
        return 0;
      }
    }
    fmt::print(stderr, "loss did not fall 10x in {} steps: {:.4f} -> {:.4f}\n", max_steps, first,
               smoothed);
    return 1;
  } catch (const convkit::Error& e) {
    fmt::print(stderr, "error: {}\n", e.what());
    return 1;
  }
}
