// Checkpoints: save -> load restores the model bit for bit (same inference output, same next
// training step), the optimizer state, epoch, rng and extra; the file is plain safetensors
// (checked here with an independent parser); writes are atomic (a failed save leaves the
// previous checkpoint and no temp file).
#include <convkit/io/checkpoint.h>
#include <convkit/train/step.h>
#include <convkit/version.h>

#include "io/safetensors.h"
#include "io_test_util.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <csignal>
#include <cstdlib>

#include <sys/resource.h>

namespace convkit::io {
namespace {

using testing::every_layer_model;
using testing::fill_random;
using testing::read_bytes;
using testing::same_bits;
using testing::ScratchDir;
using testing::small_cnn;

constexpr std::int64_t kBatch = 4;

// Two Adam steps on random data, so weights, BatchNorm running stats and Adam's moments are
// all non-trivial.
void train_a_little(nn::Model& model, optim::Optimizer& adam, std::uint64_t key, int classes = 5) {
  auto plan = model.compile_training({.batch = kBatch});
  for (int step = 0; step < 2; ++step) {
    fill_random(plan.input(), key + step);
    for (std::int64_t i = 0; i < kBatch; ++i)
      plan.labels().data<std::int32_t>()[i] = std::int32_t((i + step) % classes);
    train::train_step(plan, adam);
  }
}

Tensor infer(const nn::Model& model, std::uint64_t key) {
  auto plan = model.compile_inference({.batch = kBatch});
  fill_random(plan.input(), key);
  plan.forward();
  return plan.output().clone();
}

CheckpointContents contents_of(const optim::Optimizer& adam) {
  CheckpointContents c{.epoch = 3,
                       .rng_json = R"({"seed":42,"step":1200,"loader":{"epoch":3,"index":17}})",
                       .extra_json = R"({"config":{"lr":0.001},"metrics":{"val_accuracy":0.987}})"};
  capture_optimizer(adam, c);
  return c;
}

TEST(CheckpointTest, SaveLoadRestoresEverythingBitForBit) {
  ScratchDir dir;
  nn::Model model = every_layer_model();
  model.initialize(11);
  auto adam = optim::make_adam({.lr = 1e-3});
  train_a_little(model, *adam, 100);
  const auto path = dir / "last.ckpt";
  save_checkpoint(path, model, contents_of(*adam));

  LoadedCheckpoint loaded = load_checkpoint(path);
  EXPECT_EQ(loaded.model.seed(), 11u);
  ASSERT_EQ(loaded.model.parameter_names(), model.parameter_names());
  for (const auto& name : model.parameter_names())
    EXPECT_TRUE(same_bits(model.parameter(name), loaded.model.parameter(name))) << name;
  EXPECT_EQ(loaded.model.trainable_parameter_count(),
            model.trainable_parameter_count());  // "grouped" frozen
  EXPECT_TRUE(same_bits(infer(model, 7), infer(loaded.model, 7)));

  const auto& c = loaded.contents;
  EXPECT_EQ(c.epoch, 3);
  EXPECT_EQ(c.rng_json, R"({"seed":42,"step":1200,"loader":{"epoch":3,"index":17}})");
  EXPECT_EQ(c.extra_json, R"({"config":{"lr":0.001},"metrics":{"val_accuracy":0.987}})");
  EXPECT_EQ(c.optimizer_name, "adam");
  EXPECT_EQ(c.optimizer_steps, 2);
  EXPECT_EQ(c.optimizer_lr, 1e-3);
  const auto state = adam->state();
  ASSERT_EQ(c.optimizer_state.size(), state.size());
  for (std::size_t k = 0; k < state.size(); ++k) {
    EXPECT_EQ(c.optimizer_state[k].first, state[k].first);
    EXPECT_TRUE(same_bits(c.optimizer_state[k].second, state[k].second)) << state[k].first;
  }

  // Resuming: the next training step is identical on the original and the restored pair.
  auto adam2 = optim::make_adam({.lr = 5e-2});
  restore_optimizer(c, *adam2);
  EXPECT_EQ(adam2->lr(), 1e-3);
  train_a_little(model, *adam, 500);
  train_a_little(loaded.model, *adam2, 500);
  for (const auto& name : model.parameter_names())
    EXPECT_TRUE(same_bits(model.parameter(name), loaded.model.parameter(name)))
        << name << " after resuming";

  auto sgd = optim::make_sgd({});
  EXPECT_THROW(restore_optimizer(c, *sgd), Error);
}

TEST(CheckpointTest, ModelWithoutOptimizerRoundTrips) {
  ScratchDir dir;
  nn::Model model = small_cnn();
  model.initialize(5);
  save_checkpoint(dir / "m.ckpt", model, {});
  auto loaded = load_checkpoint(dir / "m.ckpt");
  EXPECT_TRUE(loaded.contents.optimizer_name.empty());
  EXPECT_TRUE(loaded.contents.optimizer_state.empty());
  EXPECT_EQ(loaded.contents.rng_json, "{}");
  EXPECT_TRUE(same_bits(infer(model, 3), infer(loaded.model, 3)));
}

// The file is safetensors: parsed here without convkit's reader.
TEST(CheckpointTest, FileIsValidSafetensors) {
  ScratchDir dir;
  nn::Model model = small_cnn();
  model.initialize(9);
  auto adam = optim::make_adam({});
  train_a_little(model, *adam, 200, 3);
  save_checkpoint(dir / "s.ckpt", model, contents_of(*adam));
  const std::string bytes = read_bytes(dir / "s.ckpt");

  ASSERT_GE(bytes.size(), 8u);
  std::uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | std::uint8_t(bytes[std::size_t(i)]);  // little-endian
  ASSERT_LE(8 + n, bytes.size());
  EXPECT_EQ((8 + n) % 8, 0u) << "data should start 8-byte aligned";
  const auto header = nlohmann::json::parse(bytes.substr(8, n));
  const std::string data = bytes.substr(8 + n);

  const auto& meta = header.at("__metadata__");
  for (const auto& [key, value] : meta.items()) EXPECT_TRUE(value.is_string()) << key;
  EXPECT_EQ(meta.at("convkit.format"), "checkpoint");
  EXPECT_EQ(meta.at("convkit.version"), CONVKIT_VERSION);
  EXPECT_EQ(meta.at("epoch"), "3");
  EXPECT_EQ(nlohmann::json::parse(meta.at("model").get<std::string>()).at("format"),
            "convkit.model");
  EXPECT_EQ(nlohmann::json::parse(meta.at("optimizer").get<std::string>()).at("name"), "adam");

  // Offsets cover the data exactly; each tensor is F32 with numel * 4 bytes.
  std::vector<std::pair<std::uint64_t, std::uint64_t>> ranges;
  for (const auto& [name, entry] : header.items()) {
    if (name == "__metadata__") continue;
    EXPECT_EQ(entry.at("dtype"), "F32") << name;
    std::uint64_t numel = 1;
    for (auto d : entry.at("shape")) numel *= d.get<std::uint64_t>();
    const auto begin = entry.at("data_offsets")[0].get<std::uint64_t>(),
               end = entry.at("data_offsets")[1].get<std::uint64_t>();
    EXPECT_EQ(end - begin, numel * 4) << name;
    ranges.emplace_back(begin, end);
  }
  std::sort(ranges.begin(), ranges.end());
  std::uint64_t covered = 0;
  for (auto [b, e] : ranges) {
    EXPECT_EQ(b, covered);
    covered = e;
  }
  EXPECT_EQ(covered, data.size());

  for (const auto& name : model.parameter_names()) {
    const auto& entry = header.at("param." + name);
    const Tensor p = model.parameter(name);
    EXPECT_EQ(entry.at("shape").get<std::vector<std::int64_t>>(), p.shape().dims()) << name;
    const auto begin = entry.at("data_offsets")[0].get<std::size_t>();
    EXPECT_EQ(std::memcmp(data.data() + begin, p.raw(), p.nbytes()), 0) << name;
  }
  for (const auto& [name, t] : adam->state()) {
    const auto& entry = header.at("optim." + name);
    EXPECT_EQ(entry.at("shape"), nlohmann::json::array({model.parameter_block().numel})) << name;
  }

  // The integrity entry is SHA-256 over the compact, key-sorted header without it, then the data.
  auto stripped = header;
  const std::string integrity = stripped["__metadata__"]["integrity"];
  stripped["__metadata__"].erase("integrity");
  const std::string hashed = stripped.dump() + data;
  EXPECT_EQ(integrity, "sha256:" + safetensors::sha256_hex(
                                       std::as_bytes(std::span(hashed.data(), hashed.size()))));
}

// A checkpoint whose parameter k holds (k + 1) + i / 8 at element i, for
// tests/io/check_safetensors.py to compare against. Written to $CONVKIT_IO_SAMPLE_DIR when set.
TEST(CheckpointTest, SampleForThePythonCheck) {
  ScratchDir dir;
  const char* env = std::getenv("CONVKIT_IO_SAMPLE_DIR");
  const auto path = (env ? std::filesystem::path(env) : dir.path()) / "sample.ckpt";
  nn::Model model =
      nn::sequential({2, 3, 3}, {nn::Conv2D{.filters = 2, .kernel = 2}, nn::BatchNorm{},
                                 nn::Flatten{}, nn::Dense{.units = 3}});
  const auto names = model.parameter_names();
  for (std::size_t k = 0; k < names.size(); ++k) {
    const Tensor p = model.parameter(names[k]);
    for (std::int64_t i = 0; i < p.numel(); ++i) p.data<float>()[i] = float(k + 1) + float(i) / 8;
  }
  save_checkpoint(path, model, {.epoch = 7, .extra_json = R"({"note":"python sample"})"});
  auto loaded = load_checkpoint(path);
  for (const auto& name : names)
    EXPECT_TRUE(same_bits(model.parameter(name), loaded.model.parameter(name))) << name;
}

// ---- atomic writes ----

TEST(CheckpointTest, FailedSaveIntoMissingDirectoryLeavesNothing) {
  ScratchDir dir;
  const auto target = dir / "no_such_dir" / "last.ckpt";
  try {
    save_checkpoint(target, small_cnn(), {});
    FAIL() << "expected an Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(target.string()), std::string::npos) << e.what();
  }
  EXPECT_TRUE(dir.entries().empty());
}

TEST(CheckpointTest, InvalidContentsAreRejectedBeforeTouchingTheFile) {
  ScratchDir dir;
  const auto path = dir / "last.ckpt";
  nn::Model model = small_cnn();
  save_checkpoint(path, model, {.epoch = 1});
  const std::string before = read_bytes(path);
  EXPECT_THROW(save_checkpoint(path, model, {.rng_json = "[1, 2]"}), Error);
  EXPECT_THROW(save_checkpoint(path, model, {.extra_json = "{oops"}), Error);
  EXPECT_THROW(save_checkpoint(path, model, {.epoch = -1}), Error);
  CheckpointContents wrong_size{.optimizer_name = "sgd", .optimizer_steps = 1};
  wrong_size.optimizer_state.emplace_back("momentum", Tensor::zeros(Shape{3}));
  EXPECT_THROW(save_checkpoint(path, model, wrong_size), Error);
  EXPECT_EQ(read_bytes(path), before);
  EXPECT_EQ(dir.entries(), std::vector<std::string>{"last.ckpt"});
}

TEST(CheckpointTest, RenameFailureRemovesTheTempFile) {
  ScratchDir dir;
  std::filesystem::create_directories(dir / "last.ckpt" / "inside");  // a directory is in the way
  EXPECT_THROW(save_checkpoint(dir / "last.ckpt", small_cnn(), {}), Error);
  EXPECT_EQ(dir.entries(), std::vector<std::string>{"last.ckpt"});
}

// A write that fails midway (the file size limit is hit in the data section) leaves the old
// checkpoint untouched and removes the partial temp file.
TEST(CheckpointTest, WriteFailingMidwayKeepsThePreviousCheckpoint) {
  ScratchDir dir;
  const auto path = dir / "last.ckpt";
  nn::Model small = small_cnn();
  small.initialize(1);
  save_checkpoint(path, small, {.epoch = 1});
  const std::string before = read_bytes(path);
  ASSERT_LT(before.size(), 64u * 1024);

  nn::Model big =
      nn::sequential({1, 32, 32}, {nn::Flatten{}, nn::Dense{.units = 256}});  // ~1 MB of weights
  struct rlimit old {};
  ASSERT_EQ(getrlimit(RLIMIT_FSIZE, &old), 0);
  auto* old_handler = std::signal(SIGXFSZ, SIG_IGN);  // write() then fails with EFBIG instead
  struct rlimit limit = old;
  limit.rlim_cur = 64 * 1024;
  ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &limit), 0);
  std::string message;
  try {
    save_checkpoint(path, big, {.epoch = 2});
  } catch (const Error& e) {
    message = e.what();
  }
  setrlimit(RLIMIT_FSIZE, &old);
  std::signal(SIGXFSZ, old_handler);

  EXPECT_NE(message.find("cannot write"), std::string::npos) << message;
  EXPECT_NE(message.find(path.string()), std::string::npos) << message;
  EXPECT_EQ(read_bytes(path), before);
  EXPECT_EQ(dir.entries(), std::vector<std::string>{"last.ckpt"});
  EXPECT_EQ(load_checkpoint(path).contents.epoch, 1);
}

}  // namespace
}  // namespace convkit::io
