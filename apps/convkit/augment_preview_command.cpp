// `convkit augment-preview --config FILE --data DIR --out grid.png`: a PNG grid of what the
// config's dataset.augment section does (run::write_augment_preview).
#include "commands.h"

#include <convkit/run/augment_preview.h>

#include <fmt/format.h>

namespace convkit::app {

namespace {

struct PreviewArgs {
  std::string config, out;
  std::vector<std::string> sets;
  run::AugmentPreviewOptions options;
};

int run_augment_preview(const PreviewArgs& a) {
  const run::RunConfig cfg = run::load_run_config(a.config, a.sets);
  const run::AugmentPreview p = run::write_augment_preview(cfg, a.options, a.out);
  fmt::print(
      "wrote {}: {} samples of {} x (original + {} augmented), {}x{} pixels shown at {}x{}\n",
      a.out, p.rows, cfg.dataset, p.versions, p.width, p.height, p.zoom, p.zoom);
  if (p.mixed)
    fmt::print("mixup/cutmix mixed the augmented versions among the {} shown\n",
               p.rows * p.versions);
  return 0;
}

}  // namespace

CommandRunner add_augment_preview_command(CLI::App& app) {
  auto a = std::make_shared<PreviewArgs>();
  auto* cmd =
      app.add_subcommand("augment-preview", "Write a PNG grid of augmented training samples");
  cmd->add_option("--config", a->config, "YAML config with a dataset.augment section")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_option("--data", a->options.data_dir,
                  "dataset folder (IDX files, or the registry cache)");
  cmd->add_option("--out", a->out, "output PNG file")->required();
  cmd->add_option("--samples", a->options.samples, "rows: training samples shown")
      ->check(CLI::Range(1, 256));
  cmd->add_option("--versions", a->options.versions, "augmented versions per sample")
      ->check(CLI::Range(1, 64));
  cmd->add_option("--seed", a->options.seed, "augmentation seed (default: train.seed)");
  cmd->add_option("--set", a->sets, "override a config key (repeatable)");
  return [a] { return run_augment_preview(*a); };
}

}  // namespace convkit::app
