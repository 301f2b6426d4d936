// `convkit summary CONFIG|CHECKPOINT|RUN_DIR`: the model's layer table (output shapes, parameters,
// FLOPs).
#include "commands.h"

#include <convkit/run/config.h>
#include <convkit/run/run_dir.h>

#include <fmt/format.h>

#include <filesystem>
#include <fstream>

namespace convkit::app {

namespace {

bool looks_like_checkpoint(const std::string& path) {
  // safetensors: an 8-byte little-endian header length, then '{'.
  std::ifstream in(path, std::ios::binary);
  char head[9] = {};
  in.read(head, 9);
  return in.gcount() == 9 && head[8] == '{';
}

int run_summary(const std::string& path, const std::vector<std::string>& sets) {
  if (std::filesystem::is_directory(path) || looks_like_checkpoint(path))
    fmt::print("{}", run::open_checkpoint(path).checkpoint.model.summary());
  else
    fmt::print("{}", run::load_run_config(path, sets).build_model().summary());
  return 0;
}

}  // namespace

CommandRunner add_summary_command(CLI::App& app) {
  auto path = std::make_shared<std::string>();
  auto sets = std::make_shared<std::vector<std::string>>();
  auto* cmd = app.add_subcommand("summary",
                                 "Print the layer table of a config, checkpoint or run directory");
  cmd->add_option("file", *path, "YAML config, checkpoint or run directory")
      ->required()
      ->check(CLI::ExistingPath);
  cmd->add_option("--set", *sets, "override a config key (repeatable)");
  return [path, sets] { return run_summary(*path, *sets); };
}

}  // namespace convkit::app
