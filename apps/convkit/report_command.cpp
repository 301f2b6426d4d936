// `convkit report RUN_DIR`: the self-contained HTML report of a run (training curves, confusion
// matrix, per-class scores, the most confidently wrong test images, model and config), written
// to RUN_DIR/report.html. The model is RUN_DIR/checkpoints/best.ckpt; its extra record names the
// dataset, the normalization and the class names, and its stored config the test subset.
#include "commands.h"
#include "config.h"
#include "datasets.h"
#include "run_files.h"

#include <convkit/io/checkpoint.h>
#include <convkit/report/report.h>

#include <fmt/format.h>

namespace convkit::app {

namespace fs = std::filesystem;

namespace {

struct ReportArgs {
  std::string run_dir;
  std::string data;
  std::string out;
};

int run_report(const ReportArgs& args) {
  const fs::path dir(args.run_dir);
  const fs::path checkpoint = dir / "checkpoints" / "best.ckpt";
  if (!fs::is_regular_file(checkpoint))
    throw DataError(fmt::format("{}: no checkpoint; is {} a run directory of `convkit train`?",
                                checkpoint.string(), dir.string()));
  auto loaded = as_data_error([&] { return io::load_checkpoint(checkpoint); });
  RunInfo info = as_data_error(
      [&] { return run_info_from_json(loaded.contents.extra_json, checkpoint.string()); });
  // The same train/test subsets as the run (dataset.train_samples / test_samples and the seed).
  std::int64_t train_samples = 0, test_samples = 0;
  std::uint64_t seed = 0;
  if (!info.config_yaml.empty()) {
    try {
      RunConfig cfg = parse_run_config(info.config_yaml, checkpoint.string() + " (stored config)");
      train_samples = cfg.train_samples, test_samples = cfg.test_samples, seed = cfg.seed;
    } catch (const ConfigError& e) {
      fmt::print(stderr, "convkit: warning: {}; reporting on the whole test set\n", e.what());
    }
  }
  LoadedData data = load_data(info.dataset, args.data, train_samples, test_samples, seed);
  const fs::path out = args.out.empty() ? dir / "report.html" : fs::path(args.out);
  write_report(dir, loaded.model, data.test, info.preprocess, info.class_names, out);
  fmt::print("wrote {}\n", out.string());
  return 0;
}

}  // namespace

void write_report(const fs::path& run_dir, nn::Model& model, const data::Dataset& test,
                  const train::Preprocess& preprocess, const std::vector<std::string>& class_names,
                  const fs::path& out, const Tensor& probabilities) {
  const auto data =
      report::collect_report_data(run_dir, model, test, preprocess, class_names, {.probabilities = probabilities});
  write_text_atomic(out.empty() ? run_dir / "report.html" : out, report::render_report(data));
}

CommandRunner add_report_command(CLI::App& app) {
  auto args = std::make_shared<ReportArgs>();
  auto* cmd = app.add_subcommand("report",
                                 "Write the HTML report of a run directory (RUN_DIR/report.html)");
  cmd->add_option("run_dir", args->run_dir, "run directory of `convkit train`")
      ->required()
      ->check(CLI::ExistingDirectory);
  cmd->add_option("--data", args->data, "directory holding the dataset files");
  cmd->add_option("-o,--out", args->out, "output file (default RUN_DIR/report.html)");
  return [args] { return run_report(*args); };
}

}  // namespace convkit::app
