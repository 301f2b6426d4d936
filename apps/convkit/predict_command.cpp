// `convkit predict CHECKPOINT IMAGE...`: classify PNG/PGM/PPM images (converted to the model's
// channels and resized to its input size), printing the top-k classes with probabilities.
#include "commands.h"
#include "run_files.h"

#include <convkit/data/image_file.h>
#include <convkit/io/checkpoint.h>
#include <convkit/nn/value.h>
#include <convkit/train/trainer.h>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <numeric>

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
  auto loaded = as_data_error([&] { return io::load_checkpoint(args.checkpoint); });
  RunInfo info = as_data_error([&] { return run_info_from_json(loaded.contents.extra_json, args.checkpoint); });
  const auto names = loaded.model.layer_names();
  // The model's per-sample input shape [C, H, W].
  auto summary_shape = loaded.model.input_shape();
  if (summary_shape.rank() != 3) fail("predict needs an image model with input [C, H, W], got {}", summary_shape.str());
  const std::int64_t c = summary_shape[0], h = summary_shape[1], w = summary_shape[2];
  const std::int64_t n = std::int64_t(args.images.size());
  Tensor batch = Tensor::empty({n, c, h, w});
  for (std::int64_t i = 0; i < n; ++i) {
    Tensor image = as_data_error([&] { return data::fit_image(data::read_image(args.images[i]), c, h, w); });
    const auto* px = image.data<std::uint8_t>();
    float* x = batch.data<float>() + i * c * h * w;
    for (std::int64_t k = 0; k < c; ++k) {
      const float mean = info.preprocess.mean[std::min<std::size_t>(k, info.preprocess.mean.size() - 1)];
      const float sd = info.preprocess.std[std::min<std::size_t>(k, info.preprocess.std.size() - 1)];
      for (std::int64_t j = 0; j < h * w; ++j) {
        float v = px[k * h * w + j] / 255.0f;
        if (args.invert) v = 1.0f - v;
        x[k * h * w + j] = (v - mean) / sd;
      }
    }
  }
  auto optimizer = optim::make_optimizer("sgd", {});
  train::Trainer trainer(loaded.model, *optimizer, {.eval_batch_size = 64, .preprocess = info.preprocess, .progress = false});
  Tensor probs = trainer.predict_images(batch);
  const std::int64_t k = probs.dim(1);
  const int top = std::min<int>(args.top_k, int(k));
  nlohmann::json out = nlohmann::json::array();
  for (std::int64_t i = 0; i < n; ++i) {
    const float* p = probs.data<float>() + i * k;
    std::vector<int> order(static_cast<std::size_t>(k));
    std::iota(order.begin(), order.end(), 0);
    std::partial_sort(order.begin(), order.begin() + top, order.end(), [&](int a, int b) { return p[a] > p[b]; });
    nlohmann::json entry{{"image", args.images[i]}};
    if (!args.json) fmt::print("{}\n", args.images[i]);
    for (int r = 0; r < top; ++r) {
      const int cls = order[r];
      const std::string label = cls < int(info.class_names.size()) ? info.class_names[cls] : std::to_string(cls);
      entry["top"].push_back({{"class", cls}, {"label", label}, {"probability", p[cls]}});
      if (!args.json) fmt::print("  {:>2}. {:<16} {:6.2f}%\n", r + 1, label, 100.0 * p[cls]);
    }
    out.push_back(entry);
  }
  if (args.json) fmt::print("{}\n", out.dump(2));
  (void)names;
  return 0;
}

}  // namespace

CommandRunner add_predict_command(CLI::App& app) {
  auto args = std::make_shared<PredictArgs>();
  auto* cmd = app.add_subcommand("predict", "Classify images (PNG, PGM, PPM) with a checkpoint");
  cmd->add_option("checkpoint", args->checkpoint, "checkpoint file (.ckpt)")->required()->check(CLI::ExistingFile);
  cmd->add_option("images", args->images, "image files")->required();
  cmd->add_option("-k,--top-k", args->top_k, "how many classes to show")->check(CLI::PositiveNumber);
  cmd->add_flag("--invert", args->invert, "invert intensities (dark digits on a light background)");
  cmd->add_flag("--json", args->json, "print JSON");
  return [args] { return run_predict(*args); };
}

}  // namespace convkit::app
