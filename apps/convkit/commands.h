// The CLI's commands, one thin file each over the library (run/, train/Predictor). Errors map to
// exit codes: 0 success, 2 usage/config error (run::ConfigError, CLI11 parse errors), 3 data
// error (run::DataError), 1 anything else. Messages go to stderr.
#pragma once

#include <convkit/run/errors.h>

#include <CLI/CLI.hpp>

#include <functional>
#include <string>
#include <vector>

namespace convkit::app {

using run::ConfigError;
using run::DataError;

// A count given on the command line: a whole number >= 1 ("--epochs: must be a whole number >= 1,
// got 0" rather than CLI11's range with a 310-digit maximum).
const CLI::Validator& at_least_one();

// The closest of `names` to a mistyped `word` (edit distance <= 2), or "" when none is close.
std::string closest_name(const std::string& word, const std::vector<std::string>& names);

// The process's arguments as main received them (argv[0] first): what `train --nproc` relaunches.
void set_command_line(int argc, char** argv);
const std::vector<std::string>& command_line();

// Runs the current command line again as `ranks` data-parallel ranks through mpirun (replaces
// this process; returns only by throwing ConfigError).
[[noreturn]] void run_local_ranks(int ranks);

// Each command adds its subcommand and options to the app; the returned function runs it.
using CommandRunner = std::function<int()>;
CommandRunner add_train_command(CLI::App& app);
CommandRunner add_eval_command(CLI::App& app);
CommandRunner add_predict_command(CLI::App& app);
CommandRunner add_summary_command(CLI::App& app);
CommandRunner add_augment_preview_command(CLI::App& app);
CommandRunner add_report_command(CLI::App& app);
CommandRunner add_import_command(CLI::App& app);
CommandRunner add_export_command(CLI::App& app);
CommandRunner add_tune_command(CLI::App& app);

}  // namespace convkit::app
