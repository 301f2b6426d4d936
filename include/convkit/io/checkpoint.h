// Checkpoints: one file holds everything needed to rebuild a model and resume training. The
// file is safetensors, so Python's `safetensors.numpy.load_file` reads the weights directly:
//   tensors   "param.<parameter name>"  every parameter and buffer, f32, the parameter's shape
//             "optim.<state name>"      each optimizer state buffer, f32 [P] (P = the model's
//                                       flat parameter block, padding included)
//             "train.weights"           optional: with weight averaging (EMA) the param.* tensors
//                                       are the average and this f32 [P] holds the weights
//                                       training continues from
//   metadata  "convkit.format" = "checkpoint", "convkit.format_version" = "1",
//             "convkit.version" (the writer's CONVKIT_VERSION), "model" (model spec JSON, see
//             src/io/model_spec.h), "seed" (the model's seed, drives dropout), "optimizer"
//             ({"name", "steps", "lr", "state": [names in state() order]}), "epoch", "rng" (a JSON
//             object from the trainer), "extra" (any JSON from the trainer), "integrity"
//             (SHA-256 over the canonical header and all data; one flipped byte is detected).
//
//   io::CheckpointContents c{.epoch = 3, .rng_json = R"({"seed": 42, "step": 1200})"};
//   io::capture_optimizer(*adam, c);
//   io::save_checkpoint("run/checkpoints/last.ckpt", model, c);
//   auto loaded = io::load_checkpoint("run/checkpoints/last.ckpt");
//   io::restore_optimizer(loaded.contents, *adam);
#pragma once

#include <convkit/nn/model.h>
#include <convkit/optim/optimizer.h>

#include <cstdint>
#include <filesystem>
#include <string>

namespace convkit::io {

// What the trainer saves and loads besides the model.
struct CheckpointContents {
  std::int64_t epoch = 0;         // completed epochs, >= 0
  std::string rng_json = "{}";    // a JSON object: seed, step counters, loader position
  std::string extra_json = "{}";  // any JSON value: resolved config, metrics
  std::string optimizer_name;     // empty: no optimizer saved (state must then be empty)
  std::int64_t optimizer_steps = 0;
  double optimizer_lr = 0;  // the learning rate when saved (informational; 0 = unknown)
  optim::OptimizerState optimizer_state;  // names as Optimizer::state(), each f32 of P floats
  Tensor training_weights;  // optional f32 [P]: the raw weights when the model holds an average
};

// Writes the checkpoint atomically: a temp file "<path>.tmp.<pid>" in the same directory,
// fsync, rename over `path`, fsync the directory. On any failure the temp file is removed, an
// existing checkpoint at `path` is left untouched, and Error names the path and the cause.
// Validates first: rng_json must be a JSON object, extra_json valid JSON, epoch and steps >= 0,
// each optimizer state tensor f32 with exactly P elements.
void save_checkpoint(const std::filesystem::path& path, const nn::Model& model,
                     const CheckpointContents& contents);

struct LoadedCheckpoint {
  nn::Model model;  // rebuilt from the spec, parameters and buffers restored, seed restored
  CheckpointContents contents;
};

// Reads and validates everything before trusting it (size, header, JSON, metadata, integrity,
// tensor offsets, dtypes and shapes against the model spec, missing or extra tensors). Every
// problem is one Error whose message starts with the file path.
LoadedCheckpoint load_checkpoint(const std::filesystem::path& path);

// Fills the optimizer fields of `contents` from `optimizer`: name, steps, lr, state copies.
void capture_optimizer(const optim::Optimizer& optimizer, CheckpointContents& contents);
// Puts saved optimizer fields back: load_state(state, steps) and set_lr(lr) when lr > 0.
// Throws Error when nothing was saved or the saved optimizer is another kind than `optimizer`.
void restore_optimizer(const CheckpointContents& contents, optim::Optimizer& optimizer);

}  // namespace convkit::io
