// Data-parallel training against one process, over real MPI ranks (mpirun -np 2 runs this test
// binary as the worker): 2 ranks x batch 64 end with the parameters of 1 rank x batch 128 after
// 20 steps, and gradients averaged from unequal batches (96 + 32) equal those of one batch of
// 128. Skipped when mpirun is not installed.
#include <convkit/data/dataset.h>
#include <convkit/dist/gradient_reducer.h>
#include <convkit/dist/process_group.h>
#include <convkit/nn/model.h>
#include <convkit/optim/optimizer.h>
#include <convkit/train/trainer.h>
#include <convkit/util/rng.h>

#include <gtest/gtest.h>

#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace convkit::dist {
namespace {

namespace fs = std::filesystem;

constexpr std::int64_t kBatch = 128, kSteps = 20;

// 20 global batches of 1x12x12 images whose class shows in their brightness.
data::Dataset synthetic_data() {
  const std::int64_t n = kBatch * kSteps;
  data::Dataset d{.images = Tensor::empty({n, 1, 12, 12}, DType::u8),
                  .labels = Tensor::empty({n}, DType::i32),
                  .num_classes = 10};
  for (int c = 0; c < 10; ++c) d.class_names.push_back(std::to_string(c));
  auto* px = d.images.data<std::uint8_t>();
  for (std::int64_t i = 0; i < n; ++i) {
    const int label = int(i % 10);
    d.labels.data<std::int32_t>()[i] = label;
    for (std::int64_t j = 0; j < 144; ++j) {
      const std::uint32_t r =
          philox(derive_key(11, "pixels"), std::uint64_t(i), std::uint64_t(j))[0];
      px[i * 144 + j] = std::uint8_t((r % 128) + label * 12);
    }
  }
  return d;
}

// With batch_norm, a BatchNorm (+ ReLU) after each convolution: synchronised, the 2 ranks
// normalize with the statistics of the whole batch as one process does.
nn::Model small_net(bool batch_norm = false) {
  using namespace nn;
  Value x = Input({1, 12, 12});
  Value y = Conv2D{.filters = 6,
                   .kernel = 3,
                   .activation = batch_norm ? Activation::None : Activation::ReLU,
                   .name = "c1"}(x);
  if (batch_norm) y = BatchNorm{.activation = Activation::ReLU, .name = "bn1"}(y);
  y = MaxPool2D{.pool = 2}(y);
  y = Conv2D{.filters = 8,
             .kernel = 3,
             .activation = batch_norm ? Activation::None : Activation::ReLU,
             .name = "c2"}(y);
  if (batch_norm) y = BatchNorm{.activation = Activation::ReLU, .name = "bn2"}(y);
  y = Dense{.units = 10, .name = "head"}(Flatten{}(y));
  Model model(x, y);
  model.initialize(5);
  return model;
}

// Trains kSteps steps of the global batch with `group` (one process or a rank of a job) and
// returns the parameters.
std::vector<float> train_parameters(std::shared_ptr<ProcessGroup> group, bool batch_norm = false,
                                    bool sync = true) {
  nn::Model model = small_net(batch_norm);
  auto sgd = optim::make_sgd({.lr = 0.05, .momentum = 0.9});
  train::Trainer trainer(model, *sgd,
                         {.epochs = 1,
                          .batch_size = kBatch,
                          .seed = 3,
                          .preprocess = {.mean = {0.5f}, .std = {0.25f}},
                          .progress = false,
                          .threads = 1,
                          .process_group = group,
                          .bucket_floats = 256,  // several buckets during backward
                          .sync_batch_norm = batch_norm && sync});
  trainer.fit(synthetic_data(), nullptr);
  EXPECT_EQ(trainer.step(), kSteps);
  const ParamBlock block = model.parameter_block();
  return {block.params, block.params + block.numel};
}

// The gradient of one step over the first 128 samples, computed as `rows` samples here (rows of
// the global batch [first, first + rows)) and averaged over the group with weight rows / 128.
std::vector<float> averaged_gradient(std::shared_ptr<ProcessGroup> group, std::int64_t first,
                                     std::int64_t rows) {
  nn::Model model = small_net();
  nn::Plan plan = model.compile_training({.batch = rows, .threads = 1});
  const data::Dataset d = synthetic_data();
  for (std::int64_t i = 0; i < rows; ++i) {
    for (std::int64_t j = 0; j < 144; ++j)
      plan.input().data<float>()[i * 144 + j] =
          float(d.images.data<std::uint8_t>()[(first + i) * 144 + j]) / 255.0f;
    plan.labels().data<std::int32_t>()[i] = d.labels.data<std::int32_t>()[first + i];
  }
  GradientReducer reducer(group, {.bucket_floats = 256});
  reducer.bind(plan.parameter_block());
  plan.set_gradient_ready_hook(reducer.hook());
  plan.forward();
  reducer.begin_step(double(rows) / double(kBatch));
  plan.backward();
  reducer.finish_step();
  const ParamBlock block = plan.parameter_block();
  return {block.grads, block.grads + block.numel};
}

void write_floats(const fs::path& path, const std::vector<float>& v) {
  std::ofstream(path, std::ios::binary)
      .write(reinterpret_cast<const char*>(v.data()), std::streamsize(v.size() * sizeof(float)));
}

std::vector<float> read_floats(const fs::path& path) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  std::vector<float> v(std::size_t(in.tellg()) / sizeof(float));
  in.seekg(0);
  in.read(reinterpret_cast<char*>(v.data()), std::streamsize(v.size() * sizeof(float)));
  return v;
}

// The largest |a - b| relative to the largest |b|.
double relative_difference(const std::vector<float>& a, const std::vector<float>& b) {
  EXPECT_EQ(a.size(), b.size());
  double diff = 0, scale = 0;
  for (std::size_t i = 0; i < std::min(a.size(), b.size()); ++i) {
    diff = std::max(diff, double(std::fabs(a[i] - b[i])));
    scale = std::max(scale, double(std::fabs(b[i])));
  }
  return diff / std::max(scale, 1e-30);
}

// The rank's side, run by mpirun through the test below (skipped when run on its own).
TEST(DdpWorker, TrainsAndAverages) {
  const char* out = std::getenv("CONVKIT_DDP_OUT");
  if (!out) GTEST_SKIP() << "the worker of DdpEquivalence (runs under mpirun only)";
  auto group = join_job();
  ASSERT_EQ(group->size(), 2);
  const std::vector<float> params = train_parameters(group);
  const std::vector<float> params_bn = train_parameters(group, true);
  const std::vector<float> params_bn_local = train_parameters(group, true, false);
  // Unequal shares: rank 0 takes rows [0, 96), rank 1 rows [96, 128).
  const std::vector<float> grads =
      group->rank() == 0 ? averaged_gradient(group, 0, 96) : averaged_gradient(group, 96, 32);
  if (group->rank() == 0) {
    write_floats(fs::path(out) / "params.bin", params);
    write_floats(fs::path(out) / "params_bn.bin", params_bn);
    write_floats(fs::path(out) / "params_bn_local.bin", params_bn_local);
    write_floats(fs::path(out) / "grads.bin", grads);
  }
}

bool has_mpirun() {
  return std::system("command -v mpirun > /dev/null 2>&1") == 0;
}

TEST(DdpEquivalence, TwoRanksOfHalfTheBatchMatchOneProcessOfTheWholeBatch) {
  if (std::getenv("CONVKIT_DDP_OUT")) GTEST_SKIP() << "inside the worker";
  if (!has_mpirun()) GTEST_SKIP() << "mpirun is not installed (scripts/setup installs openmpi-bin)";
  const fs::path dir = fs::temp_directory_path() / ("convkit_ddp_" + std::to_string(getpid()));
  fs::create_directories(dir);
  char self[4096];
  const ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  ASSERT_GT(n, 0);
  // Under the asan preset the ranks run sanitized, without leak checking: OpenMPI keeps memory
  // until exit in components it unloads, which LeakSanitizer can neither name nor suppress. The
  // same training code is leak-checked in this process (the one-process side below).
  const std::string command =
      "ASAN_OPTIONS=detect_leaks=0 mpirun -np 2 --oversubscribe --bind-to none " +
      std::string(geteuid() == 0 ? "--allow-run-as-root " : "") +
      "-x CONVKIT_DDP_OUT=" + dir.string() + " " + std::string(self, std::size_t(n)) +
      " --gtest_filter=DdpWorker.TrainsAndAverages > " + (dir / "log.txt").string() + " 2>&1";
  const int status = std::system(command.c_str());
  std::ifstream log(dir / "log.txt");
  const std::string text((std::istreambuf_iterator<char>(log)), std::istreambuf_iterator<char>());
  ASSERT_EQ(status, 0) << command << "\n" << text;

  const std::vector<float> one = train_parameters(local_group());
  const std::vector<float> two = read_floats(dir / "params.bin");
  const double params_diff = relative_difference(two, one);
  EXPECT_LE(params_diff, 1e-5) << "parameters after " << kSteps << " steps";
  const nn::Model initial = small_net();
  const ParamBlock start = initial.parameter_block();
  EXPECT_GT(relative_difference(one, std::vector<float>(start.params, start.params + start.numel)),
            1e-2)
      << "training moved the parameters";

  const std::vector<float> one_bn = train_parameters(local_group(), true);
  const double bn_diff = relative_difference(read_floats(dir / "params_bn.bin"), one_bn);
  EXPECT_LE(bn_diff, 1e-5) << "synchronised batch norm: parameters (and running statistics)";
  // Without synchronisation each rank normalizes with its own 64 images: not the same training.
  EXPECT_GT(relative_difference(read_floats(dir / "params_bn_local.bin"), one_bn), 1e-4);

  const std::vector<float> whole = averaged_gradient(local_group(), 0, kBatch);
  const double grads_diff = relative_difference(read_floats(dir / "grads.bin"), whole);
  EXPECT_LE(grads_diff, 1e-6) << "96 + 32 rows averaged against one batch of 128";
  std::printf(
      "parameters: max relative difference %.3g, with synchronised batch norm %.3g; "
      "unequal-batch gradient: %.3g\n",
      params_diff, bn_diff, grads_diff);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace convkit::dist
