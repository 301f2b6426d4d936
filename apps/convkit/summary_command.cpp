// `convkit summary CONFIG|CHECKPOINT`: the model's layer table (output shapes, parameters, FLOPs).
#include "commands.h"
#include "config.h"

#include <convkit/io/checkpoint.h>

#include <fmt/format.h>

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
  if (looks_like_checkpoint(path)) {
    auto loaded = as_data_error([&] { return io::load_checkpoint(path); });
    fmt::print("{}", loaded.model.summary());
  } else {
    RunConfig cfg = load_run_config(path, sets);
    fmt::print("{}", cfg.build_model().summary());
  }
  return 0;
}

}  // namespace

CommandRunner add_summary_command(CLI::App& app) {
  auto path = std::make_shared<std::string>();
  auto sets = std::make_shared<std::vector<std::string>>();
  auto* cmd = app.add_subcommand("summary", "Print the layer table of a config or checkpoint");
  cmd->add_option("file", *path, "YAML config or checkpoint")->required()->check(CLI::ExistingFile);
  cmd->add_option("--set", *sets, "override a config key (repeatable)");
  return [path, sets] { return run_summary(*path, *sets); };
}

}  // namespace convkit::app
