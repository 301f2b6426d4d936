// The CLI's commands, one thin file each over the library (run/, train/Predictor). Errors map to
// exit codes: 0 success, 2 usage/config error (run::ConfigError, CLI11 parse errors), 3 data
// error (run::DataError), 1 anything else. Messages go to stderr.
#pragma once

#include <convkit/run/errors.h>

#include <CLI/CLI.hpp>

#include <functional>

namespace convkit::app {

using run::ConfigError;
using run::DataError;

// Each command adds its subcommand and options to the app; the returned function runs it.
using CommandRunner = std::function<int()>;
CommandRunner add_train_command(CLI::App& app);
CommandRunner add_eval_command(CLI::App& app);
CommandRunner add_predict_command(CLI::App& app);
CommandRunner add_summary_command(CLI::App& app);
CommandRunner add_augment_preview_command(CLI::App& app);
CommandRunner add_report_command(CLI::App& app);

}  // namespace convkit::app
