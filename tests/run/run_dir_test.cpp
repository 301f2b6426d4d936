// The run directory's reader and writer: RunInfo round trip (with the data folder), checkpoint
// resolution from a file or a run directory, and the errors for what is not there.
#include "run/run_test_util.h"

#include <convkit/run/errors.h>
#include <convkit/run/run_dir.h>

namespace convkit::run {
namespace {

using testing::TempDir;
namespace fs = std::filesystem;

TEST(RunDir, RunInfoRoundTripsAndOldRecordsWithoutADataFolderStillRead) {
  const RunInfo info{.dataset = "idx",
                     .data_dir = "/data/bars",
                     .preprocess = {.mean = {0.5f, 0.4f, 0.3f}, .std = {0.2f, 0.2f, 0.25f}},
                     .class_names = {"a", "b"},
                     .config_yaml = "train: {epochs: 1}\n"};
  const RunInfo back = run_info_from_json(run_info_to_json(info), "test");
  EXPECT_EQ(back.dataset, info.dataset);
  EXPECT_EQ(back.data_dir, info.data_dir);
  EXPECT_EQ(back.preprocess.mean, info.preprocess.mean);
  EXPECT_EQ(back.preprocess.std, info.preprocess.std);
  EXPECT_EQ(back.class_names, info.class_names);
  EXPECT_EQ(back.config_yaml, info.config_yaml);
  const RunInfo old = run_info_from_json(
      R"({"dataset": "mnist", "preprocess": {"mean": [0.1307], "std": [0.3081]}, "class_names": []})",
      "old");
  EXPECT_EQ(old.data_dir, "");
  EXPECT_THROW(run_info_from_json(R"({"dataset": "mnist"})", "bad"), Error);
  EXPECT_THROW(
      run_info_from_json(
          R"({"dataset": "x", "preprocess": {"mean": [0.1], "std": [0]}, "class_names": []})",
          "bad"),
      Error);
}

TEST(RunDir, ResolvesCheckpointsFromFilesAndRunDirectories) {
  TempDir tmp;
  const RunDirectory dir{tmp.path / "run"};
  EXPECT_EQ(dir.best_checkpoint(), tmp.path / "run" / "checkpoints" / "best.ckpt");
  fs::create_directories(dir.checkpoints());
  try {
    resolve_checkpoint(dir.root);
    FAIL() << "no error";
  } catch (const DataError& e) {
    EXPECT_NE(std::string(e.what()).find("best.ckpt"), std::string::npos) << e.what();
  }
  write_text_atomic(dir.best_checkpoint(), "x");
  EXPECT_EQ(resolve_checkpoint(dir.root), dir.best_checkpoint());
  EXPECT_EQ(resolve_checkpoint(dir.best_checkpoint()), dir.best_checkpoint());
  EXPECT_THROW(resolve_checkpoint(tmp.path / "nothing.ckpt"), DataError);
  // Not a checkpoint: a DataError naming the file, never a crash.
  try {
    open_checkpoint(dir.root);
    FAIL() << "no error";
  } catch (const DataError& e) {
    EXPECT_NE(std::string(e.what()).find("best.ckpt"), std::string::npos) << e.what();
  }
}

TEST(RunDir, WriteTextAtomicReplacesWholeFilesAndReadTextNamesMissingOnes) {
  TempDir tmp;
  write_text_atomic(tmp.path / "a.txt", "one");
  write_text_atomic(tmp.path / "a.txt", "two");
  EXPECT_EQ(read_text(tmp.path / "a.txt"), "two");
  EXPECT_EQ(std::distance(fs::directory_iterator(tmp.path), fs::directory_iterator()),
            1);  // no temp files left
  try {
    read_text(tmp.path / "missing.yaml");
    FAIL() << "no error";
  } catch (const DataError& e) {
    EXPECT_NE(std::string(e.what()).find("missing.yaml"), std::string::npos);
  }
}

}  // namespace
}  // namespace convkit::run
