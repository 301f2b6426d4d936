// `convkit predict CHECKPOINT|RUN_DIR IMAGE...`: classify PNG/PGM/PPM images (converted to the
// model's channels and input size, normalized as in training) with train::Predictor; prints the
// top-k classes with probabilities.
#include "commands.h"

#include <convkit/data/image_file.h>
#include <convkit/run/run_dir.h>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace convkit::app {

namespace {

struct PredictArgs {
  std::string checkpoint;
  std::vector<std::string> images;
  int top_k = 3;
  bool json = false;
  bool invert = false;
};

int run_predict(const PredictArgs& args) {
  train::Predictor predictor = run::open_predictor(args.checkpoint, {.batch_size = 64});
  std::vector<Tensor> images;
  for (const auto& file : args.images) {
    Tensor image = run::as_data_error([&] { return data::read_image(file); });
    if (args.invert)
      for (std::uint8_t *p = image.data<std::uint8_t>(), *end = p + image.numel(); p != end; ++p)
        *p = 255 - *p;
    images.push_back(image);
  }
  const Tensor probabilities = run::as_data_error([&] { return predictor.predict_images(images); });
  nlohmann::json out = nlohmann::json::array();
  for (std::size_t i = 0; i < images.size(); ++i) {
    nlohmann::json entry{{"image", args.images[i]}};
    if (!args.json) fmt::print("{}\n", args.images[i]);
    int rank = 0;
    for (const auto& c :
         train::top_k(probabilities, std::int64_t(i), args.top_k, predictor.class_names())) {
      entry["top"].push_back(
          {{"class", c.index}, {"label", c.label}, {"probability", c.probability}});
      if (!args.json)
        fmt::print("  {:>2}. {:<16} {:6.2f}%\n", ++rank, c.label, 100.0 * c.probability);
    }
    out.push_back(entry);
  }
  if (args.json) fmt::print("{}\n", out.dump(2));
  return 0;
}

}  // namespace

CommandRunner add_predict_command(CLI::App& app) {
  auto args = std::make_shared<PredictArgs>();
  auto* cmd = app.add_subcommand("predict", "Classify images (PNG, PGM, PPM) with a checkpoint");
  cmd->add_option("checkpoint", args->checkpoint, "checkpoint file (.ckpt) or run directory")
      ->required()
      ->check(CLI::ExistingPath);
  cmd->add_option("images", args->images, "image files")->required();
  cmd->add_option("-k,--top-k", args->top_k, "how many classes to show")->check(at_least_one());
  cmd->add_flag("--invert", args->invert, "invert intensities (dark digits on a light background)");
  cmd->add_flag("--json", args->json, "print JSON");
  return [args] { return run_predict(*args); };
}

}  // namespace convkit::app
