// `convkit report RUN_DIR`: (re)writes the run's self-contained HTML report
// (run::write_run_report).
#include "commands.h"

#include <convkit/run/report.h>

#include <fmt/format.h>

namespace convkit::app {

namespace {

struct ReportArgs {
  std::string run_dir, data, out;
};

}  // namespace

CommandRunner add_report_command(CLI::App& app) {
  auto args = std::make_shared<ReportArgs>();
  auto* cmd = app.add_subcommand("report",
                                 "Write the HTML report of a run directory (RUN_DIR/report.html)");
  cmd->add_option("run_dir", args->run_dir, "run directory of `convkit train`")
      ->required()
      ->check(CLI::ExistingDirectory);
  cmd->add_option("--data", args->data, "directory holding the dataset files");
  cmd->add_option("-o,--out", args->out, "output file (default RUN_DIR/report.html)");
  return [args] {
    fmt::print("wrote {}\n", run::write_run_report(args->run_dir, args->data, args->out).string());
    return 0;
  };
}

}  // namespace convkit::app
