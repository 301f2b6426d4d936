// convkit: the command-line interface. One file per command; this file wires them up and maps
// errors to exit codes (0 ok, 1 other error, 2 usage/config error, 3 data error).
#include "commands.h"

#include <convkit/version.h>
#include <fmt/format.h>

#include <cstdio>

int main(int argc, char** argv) {
  using namespace convkit::app;
  CLI::App app{"convkit: train, evaluate and deploy image classifiers", "convkit"};
  app.set_version_flag("--version", std::string(CONVKIT_VERSION));
  app.require_subcommand(1);
  std::vector<std::pair<CLI::App*, CommandRunner>> commands;
  auto add = [&](CommandRunner (*adder)(CLI::App&)) {
    const std::size_t before = app.get_subcommands({}).size();
    CommandRunner run = adder(app);
    commands.emplace_back(app.get_subcommands({})[before], std::move(run));
  };
  add(add_train_command);
  add(add_eval_command);
  add(add_predict_command);
  add(add_summary_command);
  add(add_augment_preview_command);
  add(add_report_command);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? 0 : 2;
  }
  try {
    for (auto& [sub, run] : commands)
      if (sub->parsed()) return run();
  } catch (const ConfigError& e) {
    fmt::print(stderr, "convkit: config error: {}\n", e.what());
    return 2;
  } catch (const DataError& e) {
    fmt::print(stderr, "convkit: data error: {}\n", e.what());
    return 3;
  } catch (const std::exception& e) {
    fmt::print(stderr, "convkit: error: {}\n", e.what());
    return 1;
  }
  return 1;
}
