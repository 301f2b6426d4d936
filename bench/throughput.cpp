// convkit_throughput: training or inference speed of a model built from a YAML config, on
// synthetic data, as one JSON line (the convkit half of bench/compare.py; bench/torch_throughput.py
// is the PyTorch half and prints the same fields).
//
//   convkit_throughput --config examples/mnist_cnn.yaml --mode train --batch 128 --threads 2
//                      [--set key=value]... [--warmup 5] [--seconds 5 | --steps 100] [--breakdown]
//                      [--profile]   (per-node forward/backward ms on stderr, after the timed run)
//
// train: train::train_step (forward, backward, the config's optimizer) on a training plan of
// batch B; infer: Plan::forward of an inference plan of batch B. Input x [B, C, H, W] f32 uniform
// in [0, 1), labels i % K; both written once (what is timed is the step, not data loading).
// Every step is timed on its own: images/s = B * steps / total time, and B / median step time
// (robust to a busy machine's stalls); median and p90 step ms.
// GFLOP/s counts a training step as 3x the forward FLOPs (Model::flops_per_sample).
#include <convkit/run/config.h>
#include <convkit/run/errors.h>

#include <convkit/convkit.h>

#include <fmt/format.h>
#include <omp.h>
#include <sys/resource.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <vector>

namespace ck = convkit;
namespace nn = convkit::nn;
namespace train = convkit::train;

namespace {

using Clock = std::chrono::steady_clock;

struct Args {
  std::string config;
  std::vector<std::string> sets;
  std::string mode = "train";
  std::int64_t batch = 128;
  int threads = 0;  // 0: OpenMP's default
  int warmup = 5;
  double seconds = 5;
  int steps = 0;  // > 0: a fixed number of timed steps instead of --seconds
  int min_steps = 5;
  bool breakdown = false;
  bool profile = false;
  std::string name;  // the model's name in the JSON line (default: the config's file stem)
};

double since_ms(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

// The q-quantile (0..1) of step times, nearest-rank on a sorted copy.
double quantile(std::vector<double> v, double q) {
  std::sort(v.begin(), v.end());
  const auto i = static_cast<std::size_t>(q * double(v.size() - 1) + 0.5);
  return v[std::min(i, v.size() - 1)];
}

double peak_rss_mb() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return double(usage.ru_maxrss) / 1024.0;  // Linux: kilobytes
}

void fill_synthetic(nn::Plan& plan, std::int64_t classes, bool labels) {
  ck::Tensor x = plan.input();
  ck::fill_uniform(x.data<float>(), x.numel(), 7, 0.0f, 1.0f);
  if (!labels) return;
  ck::Tensor y = plan.labels();
  for (std::int64_t i = 0; i < y.numel(); ++i)
    y.data<std::int32_t>()[i] = std::int32_t(i % classes);
}

// Runs `step` warmup times, then times each call until --steps or --seconds (and --min-steps).
template <typename Step>
std::vector<double> time_steps(const Args& a, Step&& step) {
  for (int i = 0; i < a.warmup; ++i) step();
  std::vector<double> ms;
  const auto start = Clock::now();
  while (true) {
    const auto t0 = Clock::now();
    step();
    ms.push_back(since_ms(t0));
    const int n = int(ms.size());
    if (a.steps > 0 ? n >= a.steps : (n >= a.min_steps && since_ms(start) >= 1000 * a.seconds))
      break;
  }
  return ms;
}

// Median ms of forward, backward and the optimizer update, timed apart (after the main run).
nlohmann::json train_breakdown(const Args& a, nn::Plan& plan, ck::optim::Optimizer& opt,
                               const nn::Model& model) {
  std::vector<double> fwd, bwd, upd;
  const int n = std::max(10, a.steps > 0 ? a.steps / 2 : 20);
  for (int i = 0; i < n; ++i) {
    auto t0 = Clock::now();
    plan.forward();
    fwd.push_back(since_ms(t0));
    t0 = Clock::now();
    plan.backward();
    bwd.push_back(since_ms(t0));
    t0 = Clock::now();
    opt.step(model.parameter_block());
    upd.push_back(since_ms(t0));
  }
  return {{"forward_ms", quantile(fwd, 0.5)},
          {"backward_ms", quantile(bwd, 0.5)},
          {"update_ms", quantile(upd, 0.5)}};
}

// Plan's per-node timing over a few more steps, as a table on stderr (the JSON stays on stdout).
template <typename Step>
void print_profile(const Args& a, nn::Plan& plan, Step&& step) {
  plan.set_profiling(true);
  for (int i = 0, n = std::max(10, a.steps); i < n; ++i) step();
  fmt::print(stderr, "{}", plan.profile_report());
  plan.set_profiling(false);
}

int run(const Args& a) {
  if (a.threads > 0)
    omp_set_num_threads(a.threads);  // before compiling: oneDNN picks blockings per thread count
  ck::run::RunConfig cfg =
      ck::run::load_run_config(a.config.empty() ? std::nullopt : std::optional(a.config), a.sets);
  nn::Model model = cfg.build_model();
  model.initialize(cfg.seed);
  const std::int64_t classes = model.output_shape()[0];
  const bool train = a.mode == "train";

  std::vector<double> ms;
  nlohmann::json extra = nlohmann::json::object();
  std::size_t arena = 0;
  if (train) {
    nn::Plan plan = model.compile_training(
        {.batch = a.batch, .label_smoothing = cfg.label_smoothing, .backend = cfg.backend});
    auto opt = ck::optim::make_optimizer(cfg.optimizer, cfg.optimizer_options);
    fill_synthetic(plan, classes, true);
    ms = time_steps(a, [&] { return train::train_step(plan, *opt); });
    if (a.breakdown) extra["breakdown"] = train_breakdown(a, plan, *opt, model);
    if (a.profile) print_profile(a, plan, [&] { train::train_step(plan, *opt); });
    arena = plan.memory_bytes();
  } else {
    nn::Plan plan = model.compile_inference({.batch = a.batch, .backend = cfg.backend});
    fill_synthetic(plan, classes, false);
    ms = time_steps(a, [&] { plan.forward(); });
    if (a.profile) print_profile(a, plan, [&] { plan.forward(); });
    arena = plan.memory_bytes();
  }

  double total_ms = 0;
  for (double t : ms) total_ms += t;
  const double images_per_second = double(a.batch) * double(ms.size()) / (total_ms / 1000);
  const double flops = model.flops_per_sample() * (train ? 3.0 : 1.0);
  nlohmann::json line{
      {"framework", "convkit"},
      {"model",
       a.name.empty()
           ? std::filesystem::path(a.config.empty() ? "mnist_default" : a.config).stem().string()
           : a.name},
      {"mode", a.mode},
      {"batch", a.batch},
      {"threads", omp_get_max_threads()},
      {"optimizer", train ? cfg.optimizer : ""},
      {"steps", ms.size()},
      {"images_per_second", images_per_second},
      {"images_per_second_at_median", double(a.batch) / (quantile(ms, 0.5) / 1000)},
      {"step_ms_median", quantile(ms, 0.5)},
      {"step_ms_p90", quantile(ms, 0.9)},
      {"flops_per_sample", model.flops_per_sample()},
      {"gflops_per_second", flops * images_per_second * 1e-9},
      {"peak_rss_mb", peak_rss_mb()},
      {"arena_mb", double(arena) / (1024.0 * 1024.0)},
      {"parameters", model.parameter_count()},
  };
  line.update(extra);
  fmt::print("{}\n", line.dump());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Args a;
  CLI::App app("convkit training/inference throughput on synthetic data (one JSON line)");
  app.add_option("-c,--config", a.config, "YAML config (default: the built-in mnist_default)")
      ->check(CLI::ExistingFile);
  app.add_option("--set", a.sets,
                 "override a config key, e.g. --set model.layers.0.filters=64 (repeatable)");
  app.add_option("--mode", a.mode, "train or infer")->check(CLI::IsMember({"train", "infer"}));
  app.add_option("--batch", a.batch, "batch size")->check(CLI::PositiveNumber);
  app.add_option("--threads", a.threads, "OpenMP threads (0: default)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--warmup", a.warmup, "untimed steps first")->check(CLI::NonNegativeNumber);
  app.add_option("--seconds", a.seconds, "time at least this long")->check(CLI::PositiveNumber);
  app.add_option("--steps", a.steps, "time exactly this many steps (overrides --seconds)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--min-steps", a.min_steps, "with --seconds, at least this many steps")
      ->check(CLI::PositiveNumber);
  app.add_flag("--breakdown", a.breakdown, "train: also time forward, backward and update apart");
  app.add_flag("--profile", a.profile, "print the plan's per-node times to stderr");
  app.add_option("--name", a.name, "model name in the output (default: the config's file stem)");
  CLI11_PARSE(app, argc, argv);
  try {
    return run(a);
  } catch (const ck::run::ConfigError& e) {
    fmt::print(stderr, "error: {}\n", e.what());
    return 2;
  } catch (const std::exception& e) {
    fmt::print(stderr, "error: {}\n", e.what());
    return 1;
  }
}
