// The CLI's commands, one file each, and the errors that map to exit codes:
// 0 success, 2 usage/config error (ConfigError, CLI11 parse errors), 3 data error (DataError),
// 1 anything else. Messages go to stderr.
#pragma once

#include "yaml_section.h"

#include <convkit/train/trainer.h>

#include <CLI/CLI.hpp>

#include <filesystem>
#include <functional>
#include <string>
#include <vector>

namespace convkit::app {

// A dataset or image that could not be read (exit code 3).
class DataError : public Error {
 public:
  using Error::Error;
};

// Runs `f`, turning any convkit::Error it throws into a DataError with the same message.
template <typename F> auto as_data_error(F&& f) -> decltype(f()) {
  try {
    return f();
  } catch (const DataError&) {
    throw;
  } catch (const ConfigError&) {
    throw;
  } catch (const Error& e) {
    throw DataError(e.what());
  }
}

// Each command adds its subcommand and options to the app; the returned function runs it.
using CommandRunner = std::function<int()>;
CommandRunner add_train_command(CLI::App& app);
CommandRunner add_eval_command(CLI::App& app);
CommandRunner add_predict_command(CLI::App& app);
CommandRunner add_summary_command(CLI::App& app);
CommandRunner add_augment_preview_command(CLI::App& app);
CommandRunner add_report_command(CLI::App& app);
// Writes the HTML report of `run_dir` (RUN_DIR/report.html when `out` is empty); see report_command.cpp.
void write_report(const std::filesystem::path& run_dir, nn::Model& model, const data::Dataset& test,
                  const train::Preprocess& preprocess, const std::vector<std::string>& class_names,
                  const std::filesystem::path& out = {}, const Tensor& probabilities = {});

}  // namespace convkit::app
