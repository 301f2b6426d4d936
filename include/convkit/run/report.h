// Writing a run's HTML report (report/report.h renders it): from the run directory, a model and
// the test set, or by reopening everything from the run directory alone.
#pragma once

#include <convkit/data/dataset.h>
#include <convkit/nn/model.h>
#include <convkit/train/preprocess.h>

#include <filesystem>
#include <string>
#include <vector>

namespace convkit::run {

// Writes RUN_DIR/report.html (or `out`). `probabilities` [N, K] of the test set when the caller
// has them (skips the prediction pass).
void write_report(const std::filesystem::path& run_dir, nn::Model& model, const data::Dataset& test,
                  const train::Preprocess& preprocess, const std::vector<std::string>& class_names,
                  const std::filesystem::path& out = {}, const Tensor& probabilities = {});

// The report of a finished run: best.ckpt, its RunInfo, the same test subset as the run; data
// from `data_dir`, else the folder the run recorded, else the dataset's default lookup.
// Returns the path written.
std::filesystem::path write_run_report(const std::filesystem::path& run_dir,
                                       const std::string& data_dir = {},
                                       const std::filesystem::path& out = {});

}  // namespace convkit::run
