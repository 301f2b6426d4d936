// The bad-input table: mistakes a user can make with files, configs, flags and checkpoints, each
// run through the CLI with the exit code and the message it must get (2 usage/config, 3 data,
// 1 other), never a crash, a hang or a silent acceptance. Each case prints its exit code and
// message, so `test_e2e --gtest_filter='BadInputs*'` shows the whole table.
#include <convkit/data/dataset.h>
#include <convkit/util/rng.h>

#include <gtest/gtest.h>

#include "e2e/cli_run.h"

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

namespace convkit {
namespace {

namespace fs = std::filesystem;

using Outcome = testing::CliOutput;

// `timeout` turns a hang into exit 124, which no case expects.
Outcome cli(const std::string& args) {
  return testing::run_cli(args, "timeout 120");
}

data::Dataset noise(std::int64_t n, int classes, std::uint64_t seed) {
  data::Dataset d{.images = Tensor::zeros({n, 1, 28, 28}, DType::u8),
                  .labels = Tensor::zeros({n}, DType::i32),
                  .num_classes = classes};
  for (std::int64_t i = 0; i < n * 784; ++i)
    d.images.data<std::uint8_t>()[i] = std::uint8_t(philox(seed, std::uint64_t(i))[0]);
  for (std::int64_t i = 0; i < n; ++i) d.labels.data<std::int32_t>()[i] = std::int32_t(i % classes);
  return d;
}

const char* kConfig = R"(dataset: {name: idx}
model:
  input: [1, 28, 28]
  layers:
    - {type: conv2d, filters: 4, kernel: 3, activation: relu}
    - {type: max_pool2d, pool: 2}
    - {type: flatten}
    - {type: dropout, rate: 0.1}
    - {type: dense, units: 4}
train:
  epochs: 1
  batch_size: 50
  tensorboard: false
)";

struct Case {
  std::string name;
  std::string
      args;  // {D} data dir, {T} temp dir, {C} config, {R} a finished run, {R2} another model's run
  int code;
  std::string message;  // a part the message must contain
};

class BadInputs : public ::testing::TestWithParam<Case> {
 public:
  static void SetUpTestSuite() {
    root_ = fs::temp_directory_path() / ("convkit_bad_inputs_" + std::to_string(::getpid()));
    fs::create_directories(root_ / "data");
    data::write_idx(noise(200, 4, 1), root_ / "data/train-images-idx3-ubyte",
                    root_ / "data/train-labels-idx1-ubyte");
    data::write_idx(noise(40, 4, 2), root_ / "data/t10k-images-idx3-ubyte",
                    root_ / "data/t10k-labels-idx1-ubyte");
    std::ofstream(root_ / "tiny.yaml") << kConfig;
    const std::string base = "train -q --config " + (root_ / "tiny.yaml").string() + " --data " +
                             (root_ / "data").string() + " --out ";
    ASSERT_EQ(cli(base + (root_ / "run").string()).code, 0);
    ASSERT_EQ(cli(base + (root_ / "run2").string() + " --set model.layers.0.filters=6").code, 0);
    // Files for the data and checkpoint cases.
    fs::create_directories(root_ / "bad");
    std::ofstream(root_ / "bad/text.txt") << "not a checkpoint\n";
    std::ofstream(root_ / "bad/broken.yaml") << "train: {epochs: 3\nmodel: [\n";
    std::ofstream(root_ / "bad/list.yaml") << "- 1\n- 2\n";
    std::ifstream ck(root_ / "run/checkpoints/best.ckpt", std::ios::binary);
    std::string bytes{std::istreambuf_iterator<char>(ck), {}};
    std::ofstream(root_ / "bad/truncated.ckpt", std::ios::binary)
        << bytes.substr(0, bytes.size() / 2);
    bytes[bytes.size() - 10] ^= 0x10;
    std::ofstream(root_ / "bad/flipped.ckpt", std::ios::binary) << bytes;
    std::ofstream(root_ / "bad/fake.png", std::ios::binary) << "\x89PNG\r\n\x1a\n garbage";
    fs::create_directories(root_ / "bad/idx");
    for (const char* f :
         {"train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-labels-idx1-ubyte"})
      fs::copy_file(root_ / "data" / f, root_ / "bad/idx" / f);
    std::ifstream images(root_ / "data/t10k-images-idx3-ubyte", std::ios::binary);
    const std::string image_bytes{std::istreambuf_iterator<char>(images), {}};
    std::ofstream(root_ / "bad/idx/t10k-images-idx3-ubyte", std::ios::binary)
        << image_bytes.substr(0, 1000);
    fs::create_directories(root_ / "bad/empty_run/checkpoints");
    fs::copy(root_ / "run", root_ / "mixed", fs::copy_options::recursive);
    fs::copy_file(root_ / "run2/checkpoints/last.ckpt", root_ / "mixed/checkpoints/last.ckpt",
                  fs::copy_options::overwrite_existing);
    fs::create_directories(root_ / "bad/full");
    std::ofstream(root_ / "bad/full/notes.txt") << "x";
  }
  static void TearDownTestSuite() { fs::remove_all(root_); }
  static fs::path root_;
};
fs::path BadInputs::root_;

std::string expand(std::string s, const fs::path& root) {
  const std::pair<std::string, std::string> keys[] = {
      {"{C}", "--config " + (root / "tiny.yaml").string()},
      {"{D}", (root / "data").string()},
      {"{R2}", (root / "run2").string()},
      {"{R}", (root / "run").string()},
      {"{T}", root.string()}};
  for (const auto& [k, v] : keys)
    for (std::size_t p; (p = s.find(k)) != std::string::npos;) s.replace(p, k.size(), v);
  return s;
}

TEST_P(BadInputs, ExitCodeAndMessage) {
  const Case& c = GetParam();
  const Outcome r = cli(expand(c.args, root_));
  std::string first_line = r.output.substr(0, r.output.find('\n'));
  std::printf("| %s | %d | %s |\n", c.name.c_str(), r.code, first_line.c_str());
  EXPECT_EQ(r.code, c.code) << r.output;
  EXPECT_NE(r.output.find(c.message), std::string::npos) << "want '" << c.message << "' in:\n"
                                                         << r.output;
  EXPECT_EQ(r.output.find("terminate called"), std::string::npos) << r.output;
}

const std::string kTrain = "train -q {C} --data {D} --out {T}/out_";

INSTANTIATE_TEST_SUITE_P(
    Table, BadInputs,
    ::testing::Values(
        // Commands and flags.
        Case{"mistyped_command", "trian", 2, "Did you mean 'train'?"},
        Case{"no_command", "", 2, "A subcommand is required"},
        Case{"unknown_flag", kTrain + "a --bogus", 2, "--bogus"},
        Case{"epochs_zero", kTrain + "b --epochs 0", 2, "must be a whole number >= 1, got 0"},
        Case{"epochs_text", kTrain + "c --epochs many", 2, "must be a whole number >= 1, got many"},
        Case{"missing_config_file", "train --config {T}/nothing.yaml", 2, "nothing.yaml"},
        Case{"eval_without_checkpoint", "eval", 2, "checkpoints is required"},
        Case{"predict_without_images", "predict {R}", 2, "inputs is required"},
        Case{"top_k_zero", "predict {R} {T}/bad/fake.png -k 0", 2, "must be a whole number >= 1"},
        // Configs and --set.
        Case{"yaml_syntax", "train --config {T}/bad/broken.yaml --data {D}", 2,
             "invalid YAML at line"},
        Case{"yaml_not_a_mapping", "train --config {T}/bad/list.yaml --data {D}", 2,
             "must be a YAML mapping"},
        Case{"unknown_key", kTrain + "d --set train.epochz=3", 2,
             "--set train.epochz=3: unknown key 'train.epochz'"},
        Case{"set_without_value", kTrain + "e --set train.epochs", 2, "expected key=value"},
        Case{"batch_size_zero", kTrain + "f --set train.batch_size=0", 2,
             "--set train.batch_size=0"},
        Case{"negative_lr", kTrain + "g --set train.optimizer.lr=-1", 2, "lr"},
        Case{"unknown_optimizer", kTrain + "h --set train.optimizer.type=sgdd", 2, "sgdd"},
        Case{"filters_not_a_number", kTrain + "i --set model.layers.0.filters=abc", 2,
             "model.layers[0].filters"},
        Case{"unknown_layer_type", kTrain + "j --set model.layers.0.type=conv3d", 2,
             "unknown layer type 'conv3d'"},
        Case{"unknown_activation", kTrain + "k --set model.layers.0.activation=relu7", 2, "relu7"},
        Case{"dropout_rate_two", kTrain + "l --set model.layers.3.rate=2", 2, "rate"},
        Case{"validation_split_above_one", kTrain + "m --set dataset.validation_split=1.5", 2,
             "'dataset.validation_split' must be in [0, 1)"},
        Case{"unknown_schedule", kTrain + "n --set train.schedule.type=zigzag", 2, "zigzag"},
        Case{"unknown_tta", kTrain + "o --set train.test_tta=rotate", 2, "train.test_tta"},
        Case{"val_monitor_without_validation",
             kTrain + "p --set train.callbacks.early_stopping.monitor=val_loss", 2,
             "no validation data"},
        Case{"param_group_sets_nothing", kTrain + "z --set 'train.param_groups=[{layers: conv2d}]'",
             2, "sets neither trainable nor lr_multiplier"},
        Case{"param_group_matches_nothing",
             kTrain + "q --set 'train.param_groups=[{layers: nothing*, trainable: false}]'", 2,
             "train.param_groups.0.layers"},
        Case{"input_shape_vs_data", kTrain + "r --set 'model.input=[3, 28, 28]'", 2,
             "'model.input' is [3, 28, 28]"},
        Case{"output_units_vs_classes", kTrain + "s --set model.layers.4.units=5", 2,
             "has 4 classes"},
        Case{"batch_larger_than_dataset", kTrain + "t --set train.batch_size=1000", 2,
             "'train.batch_size' is 1000"},
        Case{"unknown_dataset", kTrain + "u --set dataset.name=cifar99", 3, "cifar99"},
        // Data.
        Case{"idx_without_data_dir", "train -q {C} --out {T}/out_v", 3, "--data DIR"},
        Case{"idx_missing_files", "train -q {C} --data {T}/nowhere --out {T}/out_w", 3, "missing"},
        Case{"idx_truncated_images", "train -q {C} --data {T}/bad/idx --out {T}/out_x", 3,
             "t10k-images-idx3-ubyte"},
        // Run directories.
        Case{"out_not_empty", "train -q {C} --data {D} --out {T}/bad/full", 2, "not empty"},
        Case{"resume_without_checkpoint", "train -q --resume {T}/bad/empty_run --data {D}", 3,
             "config.yaml"},
        Case{"resume_with_another_models_checkpoint", "train -q --resume {T}/mixed --data {D}", 3,
             "another model"},
        Case{"resume_with_config", "train -q --resume {R} {C}", 2, "only --epochs and --data"},
        Case{"diverging_run", kTrain + "y --set 'train.optimizer={type: sgd, lr: 1e7}'", 1,
             "training diverged"},
        // Checkpoints.
        Case{"eval_text_file", "eval {T}/bad/text.txt --data {D}", 3, "text.txt"},
        Case{"eval_truncated_checkpoint", "eval {T}/bad/truncated.ckpt --data {D}", 3,
             "truncated.ckpt"},
        Case{"eval_flipped_checkpoint", "eval {T}/bad/flipped.ckpt --data {D}", 3,
             "checksum mismatch"},
        Case{"eval_dir_without_checkpoint", "eval {T}/bad/empty_run --data {D}", 3, "best.ckpt"},
        Case{"eval_unknown_split", "eval {R} --split validation", 2, "split"},
        Case{"predict_fake_png", "predict {R} {T}/bad/fake.png", 3, "fake.png"},
        Case{"predict_missing_image", "predict {R} {T}/nothing.png", 3, "nothing.png"},
        Case{"predict_text_as_image", "predict {R} {T}/bad/text.txt", 3,
             "unsupported image format"},
        Case{"report_not_a_run", "report {T}/bad/full", 3, "a run directory of `convkit train`"},
        Case{"summary_of_garbage", "summary {T}/bad/text.txt", 2, "text.txt"}),
    [](const ::testing::TestParamInfo<Case>& info) { return info.param.name; });

}  // namespace
}  // namespace convkit
