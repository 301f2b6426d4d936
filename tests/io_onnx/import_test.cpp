// The ONNX importer on small graphs built in the test: op semantics checked against plain loops
// (Gemm with transB=0/alpha/beta, MaxPool ceil_mode windows, asymmetric pads, fp16 weights,
// BGR flipping), constant folding of the Shape->Gather->Unsqueeze->Concat->Reshape flatten, zero
// Pads folded into the convolutions that read them, and
// every bad input a clear error: unsupported ops and attributes listed together, a cut_at that
// names nothing, a truncated or empty file, a symbolic input size.
#include "io_onnx/onnx_test_util.h"
#include "support/test_util.h"

#include <convkit/io/onnx.h>

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>

namespace convkit {
namespace {

namespace fs = std::filesystem;
using test::GraphBuilder;

struct TempDir {
  fs::path path;
  TempDir() {
    path = fs::temp_directory_path() /
           ("convkit_onnx_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(path);
  }
  ~TempDir() { fs::remove_all(path); }
  std::string file(const std::string& name) const { return (path / name).string(); }
};

Tensor run(const nn::Model& m, const Tensor& x) {
  auto plan = m.compile_inference({.batch = x.dim(0)});
  plan.input().copy_from(x);
  plan.forward();
  return plan.output().clone();
}

Tensor iota(const Shape& s, float scale = 1.0f) {
  Tensor t = Tensor::empty(s);
  for (std::int64_t k = 0; k < t.numel(); ++k) t.data<float>()[k] = float(k) * scale;
  return t;
}

TEST(OnnxImport, GemmWithoutTransposeAlphaBetaMatchesLoops) {
  TempDir dir;
  GraphBuilder b;
  b.input("x", {1, 3});
  b.init("B", {3, 2}, {1, 2, 3, 4, 5, 6});  // [K, U]: transB = 0
  b.init("C", {2}, {0.5f, -1.0f});
  auto* n = b.node("Gemm", "fc", {"x", "B", "C"}, {"y"});
  GraphBuilder::real(n, "alpha", 2.0f);
  GraphBuilder::real(n, "beta", 3.0f);
  b.output("y");
  b.save(dir.file("gemm.onnx"));
  auto m = io::import_onnx(dir.file("gemm.onnx"));
  Tensor x = Tensor::empty({2, 3});
  const float xv[] = {1, -2, 0.5f, 3, 0, 1};
  std::copy(xv, xv + 6, x.data<float>());
  const Tensor y = run(m, x);
  const float B[3][2] = {{1, 2}, {3, 4}, {5, 6}}, C[2] = {0.5f, -1};
  for (int r = 0; r < 2; ++r)
    for (int u = 0; u < 2; ++u) {
      double want = 3.0 * C[u];
      for (int k = 0; k < 3; ++k) want += 2.0 * xv[r * 3 + k] * B[k][u];
      EXPECT_NEAR(y.data<float>()[r * 2 + u], want, 1e-5) << r << "," << u;
    }
}

TEST(OnnxImport, MaxPoolCeilModeKeepsThePartialWindow) {
  TempDir dir;
  GraphBuilder b(11);
  b.input("x", {1, 1, 6, 6});
  auto* n = b.node("MaxPool", "pool", {"x"}, {"y"});
  GraphBuilder::ints(n, "kernel_shape", {3, 3});
  GraphBuilder::ints(n, "strides", {2, 2});
  GraphBuilder::integer(n, "ceil_mode", 1);
  b.output("y");
  b.save(dir.file("pool.onnx"));
  auto m = io::import_onnx(dir.file("pool.onnx"));
  EXPECT_EQ(m.output_shape(0), Shape({1, 3, 3}));  // floor mode would give 2 x 2
  const Tensor x = iota({1, 1, 6, 6}, -1.0f);      // decreasing: the max is each window's start
  const Tensor y = run(m, x);
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 3; ++j)
      EXPECT_EQ(y.data<float>()[i * 3 + j], -float(2 * i * 6 + 2 * j)) << i << "," << j;
}

TEST(OnnxImport, AsymmetricConvPadsAndFoldedFlatten) {
  TempDir dir;
  GraphBuilder b(9);
  b.input("x", {1, 1, 4, 4});
  b.init("w", {1, 1, 1, 1}, {2.0f});
  auto* conv = b.node("Conv", "conv", {"x", "w"}, {"c"});
  GraphBuilder::ints(conv, "pads", {0, 1, 2, 0});  // top 0, left 1, bottom 2, right 0
  // The old exporter's flatten: Shape -> Gather(0) -> Unsqueeze -> Concat([N, -1]) -> Reshape.
  b.node("Shape", "shape", {"c"}, {"s"});
  b.init_i64("zero", {}, {0});
  b.node("Gather", "gather", {"s", "zero"}, {"n"});
  auto* u = b.node("Unsqueeze", "unsq", {"n"}, {"n1"});
  GraphBuilder::ints(u, "axes", {0});
  b.init_i64("minus1", {1}, {-1});
  auto* cat = b.node("Concat", "cat", {"n1", "minus1"}, {"shape"});
  GraphBuilder::integer(cat, "axis", 0);
  b.node("Reshape", "flat", {"c", "shape"}, {"y"});
  b.output("y");
  b.save(dir.file("flat.onnx"));
  auto g = io::import_onnx_graph(dir.file("flat.onnx"));
  EXPECT_EQ(g.output.shape(), Shape({6 * 5}));
  EXPECT_EQ(g.layers, (std::vector<std::string>{"conv", "flat"}));  // the shape nodes folded
  auto m = io::import_onnx(dir.file("flat.onnx"));
  const Tensor y = run(m, iota({1, 1, 4, 4}, 1.0f));
  // Row r, column c of the [6, 5] output: 2 * x[r][c - 1] inside, 0 in the padding.
  for (int r = 0; r < 6; ++r)
    for (int c = 0; c < 5; ++c) {
      const float want = (r < 4 && c >= 1) ? 2.0f * float(r * 4 + c - 1) : 0.0f;
      EXPECT_EQ(y.data<float>()[r * 5 + c], want) << r << "," << c;
    }
}

// The older exporters' separate zero Pad before a convolution becomes the convolution's own pads
// (no padded copy in memory); a Pad that anything but a Conv reads, or that pads with another
// value, stays a layer. The outputs are those of padding then convolving.
TEST(OnnxImport, ZeroPadBeforeConvIsFoldedIntoItsPads) {
  TempDir dir;
  GraphBuilder b(9);
  b.input("x", {1, 1, 3, 3});
  auto* pad = b.node("Pad", "pad", {"x"}, {"p"});
  GraphBuilder::ints(pad, "pads", {0, 0, 1, 0, 0, 0, 0, 2});  // top 1, right 2
  b.init("w", {1, 1, 2, 2}, {1, 2, 3, 4});
  auto* conv = b.node("Conv", "conv", {"p", "w"}, {"c"});
  GraphBuilder::ints(conv, "pads", {0, 1, 0, 0});  // and its own: left 1
  b.output("c");
  b.save(dir.file("pad.onnx"));
  auto g = io::import_onnx_graph(dir.file("pad.onnx"));
  EXPECT_EQ(g.layers, (std::vector<std::string>{"conv"}));
  auto m = io::import_onnx(dir.file("pad.onnx"));
  // The padded input: 4 rows (a zero row on top) x 6 columns (a zero column left, the conv's;
  // two right, the Pad's); a 2x2 window at stride 1 gives 3 x 5.
  EXPECT_EQ(m.output_shape(0), Shape({1, 3, 5}));
  auto at = [](int r, int c) {  // the padded image of iota
    const int rr = r - 1, cc = c - 1;
    return (rr >= 0 && rr < 3 && cc >= 0 && cc < 3) ? float(rr * 3 + cc) : 0.0f;
  };
  const Tensor y = run(m, iota({1, 1, 3, 3}, 1.0f));
  for (int r = 0; r < 3; ++r)
    for (int c = 0; c < 5; ++c) {
      const float want = 1 * at(r, c) + 2 * at(r, c + 1) + 3 * at(r + 1, c) + 4 * at(r + 1, c + 1);
      EXPECT_EQ(y.data<float>()[r * 5 + c], want) << r << "," << c;
    }
}

TEST(OnnxImport, PadReadByOtherOpsOrNonZeroStaysALayer) {
  TempDir dir;
  for (const float value : {0.0f, 1.5f}) {
    GraphBuilder b(9);
    b.input("x", {1, 1, 2, 2});
    auto* pad = b.node("Pad", "pad", {"x"}, {"p"});
    GraphBuilder::ints(pad, "pads", {0, 0, 1, 1, 0, 0, 0, 0});
    GraphBuilder::real(pad, "value", value);
    b.init("w", {1, 1, 1, 1}, {2.0f});
    b.node("Conv", "conv", {"p", "w"}, {"c"});
    b.node("Relu", "relu", {"p"}, {"r"});  // only when value is 0 is this what keeps the Pad
    b.node("Add", "add", {"c", "r"}, {"y"});
    b.output("y");
    b.save(dir.file("pad.onnx"));
    auto g = io::import_onnx_graph(dir.file("pad.onnx"));
    EXPECT_NE(std::find(g.layers.begin(), g.layers.end(), "pad"), g.layers.end()) << value;
    auto m = io::import_onnx(dir.file("pad.onnx"));
    const Tensor y = run(m, iota({1, 1, 2, 2}, 1.0f));  // 3 x 3: 3 * padded
    for (int r = 0; r < 3; ++r)
      for (int c = 0; c < 3; ++c) {
        const float p = (r >= 1 && c >= 1) ? float((r - 1) * 2 + c - 1) : value;
        EXPECT_EQ(y.data<float>()[r * 3 + c], 3 * p) << value << ": " << r << "," << c;
      }
  }
}

TEST(OnnxImport, Fp16WeightsAreWidenedExactly) {
  TempDir dir;
  GraphBuilder b;
  b.input("x", {1, 2, 1, 1});
  auto* w = b.g->add_initializer();
  w->set_name("w");
  w->set_data_type(onnx::TensorProto::FLOAT16);
  for (auto d : {2, 2, 1, 1}) w->add_dims(d);
  // 0.5, -2, 65504 (the largest half), 2^-24 (the smallest subnormal)
  for (std::uint16_t h : {0x3800, 0xC000, 0x7BFF, 0x0001}) w->add_int32_data(h);
  b.node("Conv", "conv", {"x", "w"}, {"y"});
  b.output("y");
  b.save(dir.file("fp16.onnx"));
  auto g = io::import_onnx_graph(dir.file("fp16.onnx"));
  const float* v = g.weights.at("conv.weight").data<float>();
  EXPECT_EQ(v[0], 0.5f);
  EXPECT_EQ(v[1], -2.0f);
  EXPECT_EQ(v[2], 65504.0f);
  EXPECT_EQ(v[3], std::ldexp(1.0f, -24));
}

TEST(OnnxImport, BgrToRgbReversesTheFirstConvolutionsInputChannels) {
  TempDir dir;
  GraphBuilder b;
  b.input("x", {1, 3, 2, 2});
  b.init("w", {1, 3, 1, 1}, {1.0f, 10.0f, 100.0f});
  b.node("Conv", "conv", {"x", "w"}, {"y"});
  b.output("y");
  b.save(dir.file("bgr.onnx"));
  auto g = io::import_onnx_graph(dir.file("bgr.onnx"), {.bgr_to_rgb = true});
  const float* v = g.weights.at("conv.weight").data<float>();
  EXPECT_EQ(v[0], 100.0f);
  EXPECT_EQ(v[2], 1.0f);
}

TEST(OnnxImport, EveryUnsupportedOpAndAttributeInOneError) {
  TempDir dir;
  GraphBuilder b;
  b.input("x", {1, 1, 4, 4});
  b.init("w", {1, 1, 1, 1}, {1.0f});
  auto* conv = b.node("Conv", "conv1", {"x", "w"}, {"c"});
  GraphBuilder::integer(conv, "fancy", 1);
  b.node("Erf", "erf1", {"c"}, {"e"});
  b.node("Relu", "relu1", {"e"}, {"r"});
  b.node("NonMaxSuppression", "nms1", {"r"}, {"y"});
  b.output("y");
  b.save(dir.file("bad.onnx"));
  const std::string e = testing::error_of<Error>([&] { io::import_onnx(dir.file("bad.onnx")); });
  for (const char* part :
       {"cannot import 3 nodes", "node 'conv1' (Conv): unsupported attribute 'fancy'",
        "node 'erf1' (Erf): unsupported op", "node 'nms1' (NonMaxSuppression): unsupported op",
        "bad.onnx"})
    EXPECT_NE(e.find(part), std::string::npos) << part << " not in: " << e;
  // Cutting before the unsupported ops imports the rest.
  const std::string cut =
      testing::error_of<Error>([&] { io::import_onnx(dir.file("bad.onnx"), {.cut_at = "c"}); });
  EXPECT_NE(cut.find("unsupported attribute 'fancy'"), std::string::npos) << cut;
  EXPECT_EQ(cut.find("Erf"), std::string::npos) << cut;
}

TEST(OnnxImport, CutAtNamesANodeOrATensorOrFailsListingNames) {
  TempDir dir;
  GraphBuilder b;
  b.input("x", {1, 3});
  b.init("B", {4, 3}, std::vector<float>(12, 0.1f));
  auto* fc = b.node("Gemm", "fc", {"x", "B"}, {"h"});
  GraphBuilder::integer(fc, "transB", 1);
  b.node("Relu", "act", {"h"}, {"r"});
  b.node("Softmax", "prob", {"r"}, {"y"});
  b.output("y");
  b.save(dir.file("cut.onnx"));
  EXPECT_EQ(io::import_onnx_graph(dir.file("cut.onnx"), {.cut_at = "act"}).layers,
            (std::vector<std::string>{"fc", "act"}));
  EXPECT_EQ(io::import_onnx_graph(dir.file("cut.onnx"), {.cut_at = "h"}).layers,
            (std::vector<std::string>{"fc"}));
  EXPECT_EQ(io::import_onnx_graph(dir.file("cut.onnx"), {.cut_at = "auto"}).output.shape(),
            Shape({3}));  // the input of the last Gemm
  EXPECT_EQ(io::import_onnx_graph(dir.file("cut.onnx"), {.logits = true}).layers,
            (std::vector<std::string>{"fc", "act"}));
  const std::string e = testing::error_of<Error>(
      [&] { io::import_onnx_graph(dir.file("cut.onnx"), {.cut_at = "fc7"}); });
  EXPECT_NE(e.find("cut_at 'fc7' names no node and no tensor"), std::string::npos) << e;
  EXPECT_NE(e.find("'prob'"), std::string::npos) << e;
}

TEST(OnnxImport, BadFilesAreOnnxFileErrorsNamingThePath) {
  TempDir dir;
  GraphBuilder b;
  b.input("x", {1, 3});
  b.init("B", {4, 3}, std::vector<float>(12, 0.1f));
  b.node("Gemm", "fc", {"x", "B"}, {"y"});
  b.output("y");
  b.save(dir.file("ok.onnx"));
  const auto size = fs::file_size(dir.file("ok.onnx"));
  fs::copy_file(dir.file("ok.onnx"), dir.file("cut.onnx"));
  fs::resize_file(dir.file("cut.onnx"), size / 2);
  std::ofstream(dir.file("empty.onnx")).close();
  std::ofstream(dir.file("text.onnx")) << "this is not a protobuf";
  for (const char* name : {"cut.onnx", "empty.onnx", "text.onnx", "missing.onnx"}) {
    try {
      io::import_onnx(dir.file(name));
      ADD_FAILURE() << name << " imported";
    } catch (const io::OnnxFileError& e) {
      EXPECT_NE(std::string(e.what()).find(name), std::string::npos) << e.what();
    }
  }
}

TEST(OnnxImport, SymbolicSizeNeedsAnInputShapeAndChannelsMustAgree) {
  TempDir dir;
  GraphBuilder b;
  b.input("x", {1, 3, 8, 8});
  auto* tt = b.g->mutable_input(0)->mutable_type()->mutable_tensor_type();
  tt->mutable_shape()->mutable_dim(2)->set_dim_param("H");
  tt->mutable_shape()->mutable_dim(3)->set_dim_param("W");
  b.node("GlobalAveragePool", "gap", {"x"}, {"y"});
  b.output("y");
  b.save(dir.file("sym.onnx"));
  const std::string e = testing::error_of<Error>([&] { io::import_onnx(dir.file("sym.onnx")); });
  EXPECT_NE(e.find("symbolic size [N, 3, H, W]"), std::string::npos) << e;
  EXPECT_EQ(
      io::import_onnx(dir.file("sym.onnx"), {.input_shape = Shape({3, 16, 16})}).output_shape(0),
      Shape({3, 1, 1}));
  const std::string c = testing::error_of<Error>([&] {
    io::import_onnx(dir.file("sym.onnx"), {.input_shape = Shape({1, 16, 16})});
  });
  EXPECT_NE(c.find("takes 3 channels"), std::string::npos) << c;
}

}  // namespace
}  // namespace convkit
