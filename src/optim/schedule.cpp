// Learning-rate schedule formulas (see schedule.h).
#include <convkit/optim/schedule.h>
#include <convkit/util/error.h>

#include <algorithm>
#include <cmath>

namespace convkit::optim {

void validate(const ScheduleOptions& o) {
  static const char* kTypes[] = {"constant", "step",      "multi_step",      "exponential",
                                 "cosine",   "one_cycle", "cosine_restarts", "cyclic"};
  if (std::find_if(std::begin(kTypes), std::end(kTypes),
                   [&](const char* t) { return o.type == t; }) == std::end(kTypes))
    fail(
        "schedule.type: unknown schedule '{}' (expected constant, step, multi_step, exponential, "
        "cosine, one_cycle, cosine_restarts, cyclic)",
        o.type);
  if (!(o.gamma > 0)) fail("schedule.gamma must be > 0, got {}", o.gamma);
  if (!(o.step_epochs > 0)) fail("schedule.step_epochs must be > 0, got {}", o.step_epochs);
  if (!(o.min_lr >= 0)) fail("schedule.min_lr must be >= 0, got {}", o.min_lr);
  if (!(o.pct_start > 0 && o.pct_start < 1))
    fail("schedule.pct_start must be in (0, 1), got {}", o.pct_start);
  if (!(o.div_factor > 0)) fail("schedule.div_factor must be > 0, got {}", o.div_factor);
  if (!(o.final_div_factor > 0))
    fail("schedule.final_div_factor must be > 0, got {}", o.final_div_factor);
  if (!(o.warmup_epochs >= 0)) fail("schedule.warmup_epochs must be >= 0, got {}", o.warmup_epochs);
  if (!(o.restart_epochs > 0))
    fail("schedule.restart_epochs must be > 0, got {}", o.restart_epochs);
  if (!(o.restart_mult >= 1)) fail("schedule.restart_mult must be >= 1, got {}", o.restart_mult);
  if (!(o.cycle_epochs > 0)) fail("schedule.cycle_epochs must be > 0, got {}", o.cycle_epochs);
  if (o.cyclic_mode != "triangular" && o.cyclic_mode != "triangular2" &&
      o.cyclic_mode != "exp_range")
    fail("schedule.cyclic_mode: expected triangular, triangular2 or exp_range, got '{}'",
         o.cyclic_mode);
  for (double m : o.milestones)
    if (!(m > 0)) fail("schedule.milestones must be positive epochs, got {}", m);
}

double learning_rate(const ScheduleOptions& o, double base_lr, std::int64_t step,
                     std::int64_t steps_per_epoch, std::int64_t total_steps) {
  steps_per_epoch = std::max<std::int64_t>(steps_per_epoch, 1);
  total_steps = std::max<std::int64_t>(total_steps, 1);
  const double epoch = double(step) / double(steps_per_epoch);  // fractional
  const std::int64_t whole_epochs = step / steps_per_epoch;
  double lr = base_lr;
  if (o.type == "step") {
    lr = base_lr * std::pow(o.gamma, std::floor(double(whole_epochs) / o.step_epochs));
  } else if (o.type == "multi_step") {
    int passed = 0;
    if (!(o.restart_epochs > 0))
      fail("schedule.restart_epochs must be > 0, got {}", o.restart_epochs);
    if (!(o.restart_mult >= 1)) fail("schedule.restart_mult must be >= 1, got {}", o.restart_mult);
    if (!(o.cycle_epochs > 0)) fail("schedule.cycle_epochs must be > 0, got {}", o.cycle_epochs);
    if (o.cyclic_mode != "triangular" && o.cyclic_mode != "triangular2" &&
        o.cyclic_mode != "exp_range")
      fail("schedule.cyclic_mode: expected triangular, triangular2 or exp_range, got '{}'",
           o.cyclic_mode);
    for (double m : o.milestones) passed += double(whole_epochs) >= m;
    lr = base_lr * std::pow(o.gamma, passed);
  } else if (o.type == "exponential") {
    lr = base_lr * std::pow(o.gamma, double(whole_epochs));
  } else if (o.type == "cosine") {
    const double t = std::min(1.0, double(step) / double(total_steps));
    lr = o.min_lr + (base_lr - o.min_lr) * 0.5 * (1 + std::cos(M_PI * t));
  } else if (o.type == "one_cycle") {
    // PyTorch OneCycleLR (three_phase=False, anneal_strategy='cos').
    const double initial = base_lr / o.div_factor, final_lr = initial / o.final_div_factor;
    const double up_end = o.pct_start * double(total_steps) - 1, end = double(total_steps) - 1;
    auto anneal = [](double from, double to, double pct) {
      return to + (from - to) / 2.0 * (std::cos(M_PI * pct) + 1);
    };
    const double s = double(step);
    if (s <= up_end)
      lr = anneal(initial, base_lr, up_end > 0 ? s / up_end : 1.0);
    else
      lr = anneal(base_lr, final_lr, std::min(1.0, (s - up_end) / std::max(end - up_end, 1.0)));
  } else if (o.type == "cosine_restarts") {
    // PyTorch CosineAnnealingWarmRestarts at a fractional epoch.
    double t_cur = epoch, t_i = o.restart_epochs;
    if (o.restart_mult == 1) {
      t_cur = std::fmod(epoch, o.restart_epochs);
    } else if (epoch >= o.restart_epochs) {
      const double n = std::floor(std::log(epoch / o.restart_epochs * (o.restart_mult - 1) + 1) /
                                  std::log(o.restart_mult));
      t_cur = epoch - o.restart_epochs * (std::pow(o.restart_mult, n) - 1) / (o.restart_mult - 1);
      t_i = o.restart_epochs * std::pow(o.restart_mult, n);
    }
    lr = o.min_lr + (base_lr - o.min_lr) * (1 + std::cos(M_PI * t_cur / t_i)) / 2;
  } else if (o.type == "cyclic") {
    // PyTorch CyclicLR (step_size_down = step_size_up), stepped once per optimizer step.
    const double up = o.cycle_epochs * double(steps_per_epoch), total = 2 * up;
    const double cycle = std::floor(1 + double(step) / total);
    const double x = 1.0 + double(step) / total - cycle;
    const double scale = x <= 0.5 ? x / 0.5 : (x - 1) / (0.5 - 1);
    double height = (base_lr - o.min_lr) * scale;
    if (o.cyclic_mode == "triangular2") height /= std::pow(2.0, cycle - 1);
    if (o.cyclic_mode == "exp_range") height *= std::pow(o.gamma, double(step));
    lr = o.min_lr + height;
  }
  if (o.warmup_epochs > 0 && epoch < o.warmup_epochs)
    lr *= (double(step) + 1) / (o.warmup_epochs * double(steps_per_epoch));
  return lr;
}

}  // namespace convkit::optim
