// Shared fixtures of the io tests: models that use every layer type, a scratch directory,
// and small file helpers.
#pragma once

#include <convkit/nn/model.h>
#include <convkit/util/rng.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <unistd.h>

namespace convkit::io::testing {

// A functional model with every layer type, Add/Concat skips, init overrides and a frozen
// layer. Input [3, 12, 12], output logits [5].
inline nn::Model every_layer_model() {
  using namespace nn;
  Value in = Input({3, 12, 12}, "image");
  Value a = Conv2D{.filters = 8,
                   .kernel = 3,
                   .padding = Padding::Same,
                   .activation = Activation::ReLU,
                   .kernel_init = {InitKind::HeNormal},
                   .bias_init = {InitKind::Constant, 0.125f},
                   .regularizer = {.l1 = 1e-5, .l2 = 5e-4},
                   .name = "stem"}(in);
  Value b =
      BatchNorm{.momentum = 0.2, .epsilon = 1e-3, .activation = Activation::ReLU, .name = "bn"}(a);
  Value c = Conv2D{.filters = 8,
                   .kernel = {3, 1},
                   .padding = Padding::Explicit,
                   .pads = {1, 0, 1, 0},
                   .groups = 2,
                   .name = "grouped",
                   .trainable = false}(b);
  Value d = Add{.name = "skip"}({b, c});
  Value e =
      Conv2D{.filters = 4, .kernel = 3, .stride = 1, .padding = Padding::Same, .dilation = 2}(d);
  Value f = Concat{.axis = 1, .name = "cat"}({d, LeakyReLU{.alpha = 0.2}(e)});  // 12 channels
  Value g = MaxPool2D{.pool = 2}(f);                                            // 6 x 6
  Value h = AvgPool2D{.pool = 3,
                      .stride = 1,
                      .padding = Padding::Explicit,
                      .pads = {1, 1, 1, 1},
                      .count_include_pad = true}(g);
  h = ELU{}(h);
  h = GELU{.tanh_approximation = true}(h);
  h = SiLU{}(h);
  h = SpatialDropout2D{.rate = 0.1}(h);
  Value pooled = GlobalAvgPool2D{}(h);                                          // [12]
  Value flat = Flatten{}(Reshape{.shape = {12, -1}}(AvgPool2D{.pool = 2}(h)));  // [12 * 9]
  Value dense = Dense{.units = 16,
                      .activation = Activation::Tanh,
                      .kernel_init = {InitKind::GlorotUniform},
                      .bias_init = {InitKind::Uniform, -0.1f, 0.1f}}(flat);
  dense = Dropout{.rate = 0.3}(Sigmoid{}(dense));
  Value joined = Concat{}({ReLU{}(dense), Tanh{}(pooled)});  // [28]
  Value logits =
      Dense{.units = 5, .kernel_init = {InitKind::Normal, 0.0f, 0.05f}, .name = "head"}(joined);
  return Model(in, logits);
}

// The classic small CNN, built with sequential().
inline nn::Model small_cnn(std::int64_t filters = 4) {
  using namespace nn;
  return sequential({1, 8, 8},
                    {Conv2D{.filters = filters, .kernel = 3, .activation = Activation::ReLU},
                     BatchNorm{}, MaxPool2D{}, Flatten{}, Dense{.units = 3}});
}

// Deterministic pseudo-random floats in [-1, 1).
inline void fill_random(const Tensor& t, std::uint64_t key) {
  fill_uniform(t.data<float>(), t.numel(), key, -1.0f, 1.0f);
}

// A fresh directory under the system temp dir, removed with its contents at scope exit.
class ScratchDir {
 public:
  ScratchDir() {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    path_ = std::filesystem::temp_directory_path() /
            ("convkit_io_" + std::string(info->test_suite_name()) + "_" + info->name() + "_" +
             std::to_string(::getpid()));
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~ScratchDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }
  // Names of the entries in the directory (to spot leftover temp files).
  std::vector<std::string> entries() const {
    std::vector<std::string> out;
    for (const auto& e : std::filesystem::directory_iterator(path_))
      out.push_back(e.path().filename().string());
    std::sort(out.begin(), out.end());
    return out;
  }

 private:
  std::filesystem::path path_;
};

inline std::string read_bytes(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

inline void write_bytes(const std::filesystem::path& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), std::streamsize(bytes.size()));
}

inline bool same_bits(const Tensor& a, const Tensor& b) {
  return a.shape() == b.shape() && a.dtype() == b.dtype() &&
         std::memcmp(a.raw(), b.raw(), a.nbytes()) == 0;
}

}  // namespace convkit::io::testing
