// Image folders through the CLI: every bad input the issue lists gets its message with the path
// and exit 3 (a truncated JPEG, a PNG whose header lies, a zero-byte file, a file that is not an
// image, an empty class folder, a folder with one class), on_error: skip trains around a bad
// file and names it, and `predict` classifies a folder into a CSV (bad files: exit 3 naming them,
// or rows with their error under --skip-errors).
#include <convkit/io/png_writer.h>

#include <gtest/gtest.h>

#include "data/image_encode_util.h"
#include "e2e/cli_run.h"

#include <filesystem>
#include <fstream>
#include <sstream>

namespace convkit {
namespace {

namespace fs = std::filesystem;
using testing::run_cli;

const char* kConfig = R"(dataset: {name: folder, test_split: 0.25, workers: 2}
model:
  input: [3, 16, 16]
  layers:
    - {type: conv2d, filters: 4, kernel: 3, activation: relu}
    - {type: global_avg_pool2d}
    - {type: dense, units: 2}
train:
  epochs: 1
  batch_size: 8
  tensorboard: false
)";

std::string jpeg_bytes(int h, int w, int seed) {
  return data::testing::encode_jpeg(data::testing::smooth_pixels(h, w, 3), h, w,
                                    {.quality = 80 + seed});
}

void write(const fs::path& p, const std::string& bytes) {
  fs::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary) << bytes;
}

// root/cat and root/dog with 8 good images each (JPEG and PNG, different sizes).
void good_tree(const fs::path& root) {
  for (int i = 0; i < 8; ++i) {
    write(root / "cat" / fmt::format("c{}.jpg", i), jpeg_bytes(20 + i, 24 + 2 * i, i));
    Tensor img = Tensor::empty({3, std::int64_t(18 + i), 18}, DType::u8);
    std::memset(img.raw(), 40 * (i % 5), img.nbytes());
    fs::create_directories(root / "dog");
    io::write_png(root / "dog" / fmt::format("d{}.png", i), img);
  }
}

class FolderInputs : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() / ("convkit_folder_inputs_" + std::to_string(::getpid()));
    fs::remove_all(root_);
    fs::create_directories(root_);
    std::ofstream(root_ / "c.yaml") << kConfig;
  }
  void TearDown() override { fs::remove_all(root_); }
  testing::CliOutput train(const fs::path& data, const std::string& extra = "") {
    return run_cli("train -q --config " + (root_ / "c.yaml").string() + " --data " + data.string() +
                       " --out " + (root_ / "run").string() + " --overwrite " + extra,
                   "timeout 120");
  }
  fs::path root_;
};

TEST_F(FolderInputs, EachBadInputNamesItsPath) {
  struct Bad {
    std::string what, file, bytes, message;
  };
  std::string png = io::encode_png(Tensor::zeros({3, 8, 8}, DType::u8));
  data::testing::patch_chunk_u32(png, "IHDR", 4, 4000);  // height 4000, data for 8 rows
  const std::string jpeg = jpeg_bytes(40, 40, 1);
  const std::vector<Bad> cases = {
      {"truncated JPEG", "cat/cut.jpg", jpeg.substr(0, jpeg.size() / 2), "truncated or corrupt"},
      {"PNG with a lying header", "dog/lies.png", png, "lies.png"},
      {"zero-byte file", "cat/empty.jpg", "", "empty file (0 bytes)"},
      {"not an image", "dog/notes.png", "hello, world\n", "not an image"},
  };
  for (const Bad& c : cases) {
    const fs::path data = root_ / ("tree_" + std::to_string(&c - cases.data()));
    good_tree(data);
    write(data / c.file, c.bytes);
    const auto r = train(data);
    EXPECT_EQ(r.code, 3) << c.what << ":\n" << r.output;
    EXPECT_NE(r.output.find((data / c.file).string()), std::string::npos) << c.what << ":\n"
                                                                          << r.output;
    EXPECT_NE(r.output.find(c.message), std::string::npos) << c.what << ":\n" << r.output;
    EXPECT_EQ(r.output.find("terminate called"), std::string::npos) << r.output;
  }
  const fs::path empty = root_ / "tree_empty_class";
  good_tree(empty);
  fs::create_directories(empty / "bird");
  auto r = train(empty);
  EXPECT_EQ(r.code, 3) << r.output;
  EXPECT_NE(r.output.find((empty / "bird").string() + ": class folder with no images"),
            std::string::npos)
      << r.output;
  const fs::path one = root_ / "tree_one_class";
  good_tree(one);
  fs::remove_all(one / "dog");
  r = train(one);
  EXPECT_EQ(r.code, 3) << r.output;
  EXPECT_NE(r.output.find("only one class folder ('cat')"), std::string::npos) << r.output;
}

TEST_F(FolderInputs, SkipTrainsAroundABadFileAndPredictWritesACsv) {
  const fs::path data = root_ / "tree";
  good_tree(data);
  const std::string jpeg = jpeg_bytes(30, 30, 2);
  write(data / "cat" / "cut.jpg", jpeg.substr(0, jpeg.size() / 2));
  auto r = train(data, "--set dataset.on_error=skip");
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("cut.jpg"), std::string::npos) << r.output;

  // predict on the folder: the bad file stops it with its path, --skip-errors writes its row.
  const std::string csv = (root_ / "p.csv").string();
  r = run_cli("predict " + (root_ / "run").string() + " " + data.string() + " --csv " + csv);
  EXPECT_EQ(r.code, 3) << r.output;
  EXPECT_NE(r.output.find("cut.jpg"), std::string::npos) << r.output;
  r = run_cli("predict " + (root_ / "run").string() + " " + data.string() +
              " --skip-errors -k 2 --csv " + csv);
  ASSERT_EQ(r.code, 0) << r.output;
  std::ifstream in(csv);
  std::string header, line;
  std::getline(in, header);
  EXPECT_EQ(header, "path,class_1,probability_1,class_2,probability_2,error");
  int rows = 0, errors = 0;
  while (std::getline(in, line)) {
    ++rows;
    errors += line.find("truncated or corrupt") != std::string::npos;
    if (line.find("cut.jpg") == std::string::npos)
      EXPECT_TRUE(line.find(",cat,") != std::string::npos ||
                  line.find(",dog,") != std::string::npos)
          << line;
  }
  EXPECT_EQ(rows, 17);
  EXPECT_EQ(errors, 1);
  // The trained global-pooling model (16 x 16 input) at each image's own size (18 to 27 px).
  r = run_cli("predict " + (root_ / "run").string() + " " + (data / "dog").string() +
              " --keep-size -k 1 --json");
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("d7.png"), std::string::npos) << r.output;
  // A glob, printed.
  r = run_cli("predict " + (root_ / "run").string() + " '" + (data / "dog" / "d*.png").string() +
              "' -k 1");
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("d7.png"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace convkit
