// The ONNX paths of the CLI on a tiny backbone written by the test (Conv -> Relu ->
// GlobalAveragePool -> Flatten -> Gemm): `convkit import` writes a checkpoint that `predict`
// uses; a training run on a model.backbone (frozen, new head) on IDX noise images resized to
// the backbone's input; and the bad inputs: a truncated or non-ONNX file (exit 3 naming it), an
// unsupported op (exit 2 naming the node), a cut_at that names nothing, a backbone whose input
// channels disagree with model.input, a backbone without its normalization (exit 2 naming the
// key).
#include <gtest/gtest.h>

#include "e2e/cli_run.h"
#include "io_onnx/onnx_test_util.h"

#include <convkit/data/dataset.h>
#include <convkit/util/rng.h>

#include <filesystem>
#include <fstream>

namespace convkit {
namespace {

namespace fs = std::filesystem;
using testing::run_cli;

data::Dataset noise(std::int64_t n, int classes, std::uint64_t seed) {
  data::Dataset d{.images = Tensor::zeros({n, 1, 28, 28}, DType::u8),
                  .labels = Tensor::zeros({n}, DType::i32),
                  .num_classes = classes};
  for (std::int64_t i = 0; i < d.images.numel(); ++i)
    d.images.data<std::uint8_t>()[i] = std::uint8_t(philox(seed, std::uint64_t(i))[0]);
  for (std::int64_t i = 0; i < n; ++i) d.labels.data<std::int32_t>()[i] = std::int32_t(i % classes);
  return d;
}

void write_backbone(const fs::path& path, const std::string& extra_op = "") {
  test::GraphBuilder b(13);
  b.input("image", {1, 3, 16, 16});
  std::vector<float> w(8 * 3 * 3 * 3);
  for (std::size_t k = 0; k < w.size(); ++k) w[k] = 0.05f * float(int(k % 7) - 3);
  b.init("w", {8, 3, 3, 3}, w);
  b.init("bias", {8}, std::vector<float>(8, 0.1f));
  auto* conv = b.node("Conv", "stem", {"image", "w", "bias"}, {"c"});
  test::GraphBuilder::ints(conv, "pads", {1, 1, 1, 1});
  b.node("Relu", "stem_act", {"c"}, {"r"});
  std::string last = "r";
  if (!extra_op.empty()) {
    b.node(extra_op, "odd", {"r"}, {"o"});
    last = "o";
  }
  b.node("GlobalAveragePool", "pool", {last}, {"p"});
  b.node("Flatten", "flat", {"p"}, {"f"});
  b.init("fc_w", {5, 8}, std::vector<float>(40, 0.2f));
  b.init("fc_b", {5}, {0, 1, 2, 3, 4});
  auto* fc = b.node("Gemm", "classifier", {"f", "fc_w", "fc_b"}, {"logits"});
  test::GraphBuilder::integer(fc, "transB", 1);
  b.output("logits");
  b.save(path.string());
}

class OnnxCli : public ::testing::Test {
 public:
  static void SetUpTestSuite() {
    root_ = fs::temp_directory_path() / ("convkit_onnx_cli_" + std::to_string(::getpid()));
    fs::create_directories(root_ / "data");
    data::write_idx(noise(120, 3, 1), root_ / "data/train-images-idx3-ubyte",
                    root_ / "data/train-labels-idx1-ubyte");
    data::write_idx(noise(30, 3, 2), root_ / "data/t10k-images-idx3-ubyte",
                    root_ / "data/t10k-labels-idx1-ubyte");
    write_backbone(root_ / "base.onnx");
    write_backbone(root_ / "odd.onnx", "Erf");
    std::ifstream in(root_ / "base.onnx", std::ios::binary);
    const std::string bytes{std::istreambuf_iterator<char>(in), {}};
    std::ofstream(root_ / "truncated.onnx", std::ios::binary) << bytes.substr(0, bytes.size() / 3);
    std::ofstream(root_ / "labels.txt") << "alpha\nbeta\ngamma\ndelta\nepsilon\n";
    std::ofstream(root_ / "image.ppm", std::ios::binary) << "P6\n4 4\n255\n"
                                                         << std::string(48, '\x80');
  }
  static void TearDownTestSuite() { fs::remove_all(root_); }
  static std::string config(const std::string& backbone_extra,
                            const std::string& input = "[3, 16, 16]") {
    static int written = 0;  // one file per config: the cases are built before they run
    const fs::path file = root_ / ("transfer" + std::to_string(++written) + ".yaml");
    std::ofstream(file) << "dataset: {name: idx, resize: stretch}\n"
                           "model:\n  input: "
                        << input
                        << "\n"
                           "  backbone: {onnx: "
                        << (root_ / "base.onnx").string() << backbone_extra
                        << "}\n  head:\n    - {type: dense, units: 3}\n"
                           "train: {epochs: 2, batch_size: 20, tensorboard: false}\n";
    return file.string();
  }
  static fs::path root_;
};
fs::path OnnxCli::root_;

TEST_F(OnnxCli, ImportWritesACheckpointThatPredicts) {
  const auto r = run_cli("import " + (root_ / "base.onnx").string() + " --labels " +
                         (root_ / "labels.txt").string() + " --normalize imagenet -o " +
                         (root_ / "base.ckpt").string());
  ASSERT_EQ(r.code, 0) << r.output;
  for (const char* part : {"opset 13", "5 nodes, 5 mapped", "stem (Conv2D)", "classifier (Dense)",
                           "wrote", "5 classes"})
    EXPECT_NE(r.output.find(part), std::string::npos) << part << " not in:\n" << r.output;
  const auto p = run_cli("predict " + (root_ / "base.ckpt").string() + " " +
                         (root_ / "image.ppm").string() + " -k 1");
  ASSERT_EQ(p.code, 0) << p.output;
  EXPECT_NE(p.output.find("epsilon"), std::string::npos) << p.output;  // the largest bias wins
}

TEST_F(OnnxCli, TrainsAHeadOnAFrozenBackbone) {
  const auto r =
      run_cli("train -q --config " + config(", normalize: centered, cut_at: auto") + " --data " +
              (root_ / "data").string() + " --out " + (root_ / "run").string());
  ASSERT_EQ(r.code, 0) << r.output;
  const auto s = run_cli("summary " + (root_ / "run").string());
  ASSERT_EQ(s.code, 0) << s.output;
  for (const char* part : {"stem (Conv2D) [frozen]", "dense (Dense)", "trainable 27"})
    EXPECT_NE(s.output.find(part), std::string::npos) << part << " not in:\n" << s.output;
  std::ifstream cfg(root_ / "run/config.yaml");
  const std::string text{std::istreambuf_iterator<char>(cfg), {}};
  EXPECT_NE(text.find((root_ / "base.onnx").string()), std::string::npos) << text;
}

TEST_F(OnnxCli, FineTuningUnfreezesFromALayerAtAnEpoch) {
  const std::string cfg = config(", normalize: centered");
  std::ofstream(cfg, std::ios::app)
      << "  fine_tune: {epoch: 1, unfreeze_from: stem_act, lr_multiplier: 0.1}\n";
  // train: is a flow mapping in config(); a second train key would be invalid: rewrite it.
  std::ifstream in(cfg);
  std::string text{std::istreambuf_iterator<char>(in), {}};
  in.close();
  const auto at = text.find("train: {epochs: 2, batch_size: 20, tensorboard: false}\n");
  ASSERT_NE(at, std::string::npos) << text;
  text.replace(at, std::string("train: {epochs: 2, batch_size: 20, tensorboard: false}\n").size(),
               "train:\n  epochs: 2\n  batch_size: 20\n  tensorboard: false\n");
  std::ofstream(cfg) << text;
  const auto r = run_cli("train --config " + cfg + " --data " + (root_ / "data").string() +
                         " --out " + (root_ / "ft").string());
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("fine-tuning from epoch 2: layers from 'stem_act' on train at lr x 0.1"),
            std::string::npos)
      << r.output;
  const auto s = run_cli("summary " + (root_ / "ft").string());
  EXPECT_NE(s.output.find("stem (Conv2D) [frozen]"), std::string::npos) << s.output;
  EXPECT_EQ(s.output.find("stem_act (ReLU) [frozen]"), std::string::npos) << s.output;
  const auto bad =
      run_cli("train -q --config " + cfg + " --set train.fine_tune.unfreeze_from=stm" + " --data " +
              (root_ / "data").string() + " --out " + (root_ / "ft2").string());
  EXPECT_EQ(bad.code, 2) << bad.output;
  EXPECT_NE(bad.output.find("'train.fine_tune.unfreeze_from': the model has no layer 'stm'"),
            std::string::npos)
      << bad.output;
}

TEST_F(OnnxCli, BadInputsExitWithTheirCode) {
  struct Case {
    std::string args;
    int code;
    std::string message;
  };
  const std::string data =
      " --data " + (root_ / "data").string() + " --out " + (root_ / "bad").string();
  const Case cases[] = {
      {"import " + (root_ / "truncated.onnx").string(), 3, "truncated.onnx"},
      {"import " + (root_ / "labels.txt").string(), 3, "labels.txt"},
      {"import " + (root_ / "odd.onnx").string(), 2, "node 'odd' (Erf): unsupported op"},
      {"import " + (root_ / "base.onnx").string() + " --cut-at fc9", 2,
       "cut_at 'fc9' names no node"},
      {"train -q --config " + config(", normalize: unit, cut_at: fc9") + data, 2,
       "'model.backbone': "},
      {"train -q --config " + config(", normalize: unit", "[1, 16, 16]") + data, 2,
       "takes 3 channels"},
      {"train -q --config " + config("") + data, 2, "model.backbone.normalize"},
      {"train -q --config " + config(", normalize: unit, channels: bgra") + data, 2,
       "model.backbone.channels"},
  };
  for (const auto& c : cases) {
    fs::remove_all(root_ / "bad");
    const auto r = run_cli(c.args);
    EXPECT_EQ(r.code, c.code) << c.args << "\n" << r.output;
    EXPECT_NE(r.output.find(c.message), std::string::npos) << c.message << " not in:\n" << r.output;
    EXPECT_EQ(std::count(r.output.begin(), r.output.end(), '\n'), 1) << r.output;  // one line
  }
  const auto good = run_cli("train -q --config " + config(", normalize: unit") + data);
  EXPECT_EQ(good.code, 0) << good.output;  // the same keys with good values train
}

}  // namespace
}  // namespace convkit
