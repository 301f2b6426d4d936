// safetensors interop both ways: a convkit checkpoint re-saved unchanged by Python's
// `safetensors` (other key order, other data order, other padding) loads and holds the same
// weights; a re-spelled header still verifies while a changed value does not; checkpoints
// written before the content hash (no "content_sha256") still load. The files under
// tests/io/data/ were made once by tests/io/data/make_interop_files.sh (see there).
#include <convkit/io/checkpoint.h>
#include <convkit/nn/layers.h>

#include "io/safetensors.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>

namespace convkit::io {
namespace {

namespace fs = std::filesystem;

// The model the data files hold: a fixed architecture, initialized from seed 7.
nn::Model tiny_model() {
  auto model = nn::sequential({1, 4, 4}, {nn::Conv2D{.filters = 2, .kernel = 3}, nn::Flatten{},
                                          nn::Dense{.units = 3, .name = "head"}});
  model.initialize(7);
  return model;
}

const CheckpointContents kContents{
    .epoch = 2, .rng_json = R"({"seed": 7})", .extra_json = R"({"note": "interop fixture"})"};

// ctest runs the tests from the source root (tests/CMakeLists.txt: WORKING_DIRECTORY).
fs::path data_dir() {
  return "tests/io/data";
}

void expect_tiny_weights(const nn::Model& loaded) {
  const nn::Model want = tiny_model();
  ASSERT_EQ(loaded.parameter_names(), want.parameter_names());
  for (const auto& name : want.parameter_names())
    EXPECT_EQ(max_abs_diff(loaded.parameter(name), want.parameter(name)), 0.0f) << name;
}

// Writes tests/io/data/tiny_convkit.ckpt (run by make_interop_files.sh, not by ctest).
TEST(CheckpointInterop, DISABLED_WriteFixture) {
  const char* dir = std::getenv("CONVKIT_INTEROP_OUT");
  ASSERT_NE(dir, nullptr) << "set CONVKIT_INTEROP_OUT";
  save_checkpoint(fs::path(dir) / "tiny_convkit.ckpt", tiny_model(), kContents);
}

TEST(CheckpointInterop, ACheckpointResavedByPythonSafetensorsLoads) {
  const fs::path file = data_dir() / "tiny_resaved_by_python.ckpt";
  // Python's writer laid it out differently: the header bytes are not convkit's.
  const auto original = safetensors::File::read(data_dir() / "tiny_convkit.ckpt");
  const auto resaved = safetensors::File::read(file);
  std::ifstream a(data_dir() / "tiny_convkit.ckpt", std::ios::binary), b(file, std::ios::binary);
  const std::string bytes_a{std::istreambuf_iterator<char>(a), {}},
      bytes_b{std::istreambuf_iterator<char>(b), {}};
  EXPECT_NE(bytes_a, bytes_b);
  EXPECT_EQ(original.meta("content_sha256"), resaved.meta("content_sha256"));
  const LoadedCheckpoint loaded = load_checkpoint(file);
  EXPECT_EQ(loaded.contents.epoch, 2);
  expect_tiny_weights(loaded.model);
  expect_tiny_weights(load_checkpoint(data_dir() / "tiny_convkit.ckpt").model);
}

TEST(CheckpointInterop, AFileFromBeforeTheContentHashStillLoads) {
  const auto file = safetensors::File::read(data_dir() / "tiny_legacy_integrity.ckpt");
  EXPECT_THROW(file.meta("content_sha256"), Error);
  expect_tiny_weights(load_checkpoint(data_dir() / "tiny_legacy_integrity.ckpt").model);
}

TEST(CheckpointInterop, ARespelledHeaderVerifiesAndAChangedValueDoesNot) {
  const fs::path dir =
      fs::temp_directory_path() / ("convkit-interop-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  std::ifstream in(data_dir() / "tiny_convkit.ckpt", std::ios::binary);
  const std::string bytes{std::istreambuf_iterator<char>(in), {}};
  std::uint64_t n = 0;
  std::memcpy(&n, bytes.data(), 8);
  std::string header = bytes.substr(8, n);
  const std::string data = bytes.substr(8 + n);
  auto write = [&](const fs::path& path, std::string text) {
    text.append((8 - text.size() % 8) % 8, ' ');
    const std::uint64_t length = text.size();
    std::ofstream out(path, std::ios::binary);
    out.write(reinterpret_cast<const char*>(&length), 8);
    out << text << data;
  };
  // Whitespace another writer might put in: the same content.
  std::string spaced = header;
  spaced.insert(1, " \n ");
  write(dir / "spaced.ckpt", spaced);
  expect_tiny_weights(load_checkpoint(dir / "spaced.ckpt").model);
  // A metadata value changed: the content differs.
  std::string edited = header;
  const auto at = edited.find("interop fixture");
  ASSERT_NE(at, std::string::npos);
  edited[at] = 'I';
  write(dir / "edited.ckpt", edited);
  try {
    load_checkpoint(dir / "edited.ckpt");
    ADD_FAILURE() << "loaded";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("checksum mismatch"), std::string::npos) << e.what();
  }
  fs::remove_all(dir);
}

}  // namespace
}  // namespace convkit::io
