// convkit: the command-line interface. One file per command; this file wires them up and maps
// errors to exit codes (0 ok, 1 other error, 2 usage/config error, 3 data error).
#include "commands.h"

#include <convkit/dist/process_group.h>
#include <convkit/version.h>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <string>
#include <vector>

#include <cstdio>

namespace convkit::app {

const CLI::Validator& at_least_one() {
  static const CLI::Validator v(
      [](std::string& text) -> std::string {
        std::size_t used = 0;
        long long value = 0;
        try {
          value = std::stoll(text, &used);
        } catch (const std::exception&) {
          used = 0;
        }
        if (used != text.size() || used == 0 || value < 1)
          return "must be a whole number >= 1, got " + text;
        return {};
      },
      "INT>=1");
  return v;
}

std::string closest_name(const std::string& word, const std::vector<std::string>& names) {
  std::string best;
  std::size_t best_distance = 3;
  for (const auto& name : names) {
    // Levenshtein distance with a transposition counted as one edit ("trian" -> "train").
    const std::size_t n = word.size(), m = name.size();
    std::vector<std::vector<std::size_t>> d(n + 1, std::vector<std::size_t>(m + 1));
    for (std::size_t i = 0; i <= n; ++i) d[i][0] = i;
    for (std::size_t j = 0; j <= m; ++j) d[0][j] = j;
    for (std::size_t i = 1; i <= n; ++i)
      for (std::size_t j = 1; j <= m; ++j) {
        d[i][j] = std::min(
            {d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (word[i - 1] != name[j - 1])});
        if (i > 1 && j > 1 && word[i - 1] == name[j - 2] && word[i - 2] == name[j - 1])
          d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
      }
    if (d[n][m] < best_distance) best_distance = d[n][m], best = name;
  }
  return best;
}

}  // namespace convkit::app

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
  add(add_import_command);
  add(add_export_command);
  add(add_tune_command);
  // A first word that is not an option and not a command: name it, and suggest the nearest.
  if (argc > 1 && argv[1][0] != '-') {
    std::vector<std::string> names;
    for (const auto* sub : app.get_subcommands({})) names.push_back(sub->get_name());
    if (std::find(names.begin(), names.end(), argv[1]) == names.end()) {
      const std::string near = closest_name(argv[1], names);
      fmt::print(stderr, "convkit: unknown command '{}'.{} Commands: {} (convkit --help)\n",
                 argv[1], near.empty() ? "" : fmt::format(" Did you mean '{}'?", near),
                 fmt::join(names, ", "));
      return 2;
    }
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? 0 : 2;
  }
  set_command_line(argc, argv);
  // An error on one rank of a data-parallel job ends the whole job (no rank waits for it).
  auto failed = [](const char* kind, const char* what, int code) {
    fmt::print(stderr, "convkit: {}{}\n", kind, what);
    convkit::dist::abort_job_if_distributed(code);
    return code;
  };
  try {
    for (auto& [sub, run] : commands)
      if (sub->parsed()) return run();
  } catch (const ConfigError& e) {
    return failed("config error: ", e.what(), 2);
  } catch (const DataError& e) {
    return failed("data error: ", e.what(), 3);
  } catch (const std::exception& e) {
    return failed("error: ", e.what(), 1);
  }
  return 1;
}
