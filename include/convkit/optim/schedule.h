// Learning-rate schedules, evaluated per optimizer step from the step index alone (so a
// resumed run gets the same rates). Formulas follow PyTorch's lr_scheduler classes:
//   constant; step (x gamma every step_epochs); multi_step (x gamma at each milestone epoch);
//   exponential (x gamma per epoch); cosine (CosineAnnealingLR to min_lr over the run);
//   one_cycle (OneCycleLR, cosine annealing: base_lr/div_factor -> max = base_lr at pct_start,
//   -> base_lr/(div_factor*final_div_factor) at the end); cosine_restarts
//   (CosineAnnealingWarmRestarts: T_0 = restart_epochs, T_mult = restart_mult, eta_min = min_lr,
//   evaluated at fractional epochs); cyclic (CyclicLR between min_lr and base_lr, half cycle of
//   cycle_epochs, modes triangular, triangular2, exp_range with gamma per step).
// warmup_epochs > 0 ramps linearly from 0 to the schedule's rate over the first epochs.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace convkit::optim {

struct ScheduleOptions {
  std::string type = "constant";  // constant | step | multi_step | exponential | cosine | one_cycle
                                  // | cosine_restarts | cyclic
  double gamma = 0.1;             // step, multi_step, exponential
  double step_epochs = 10;        // step
  std::vector<double> milestones;  // multi_step (epochs)
  double min_lr = 0;               // cosine
  double pct_start = 0.3;          // one_cycle
  double div_factor = 25;          // one_cycle
  double final_div_factor = 1e4;   // one_cycle
  double restart_epochs = 10;      // cosine_restarts: length of the first cycle (T_0)
  double restart_mult = 1;         // cosine_restarts: cycle growth (T_mult, >= 1)
  double cycle_epochs = 2;         // cyclic: epochs from min_lr up to base_lr (step_size_up)
  std::string cyclic_mode = "triangular";  // triangular | triangular2 | exp_range
  double warmup_epochs = 0;
};

// Validates the options; throws Error naming the bad key ("schedule.gamma") and value.
void validate(const ScheduleOptions& options);

// The learning rate for `step` (0-based) of a run of `total_steps`, `steps_per_epoch` steps each.
double learning_rate(const ScheduleOptions& options, double base_lr, std::int64_t step,
                     std::int64_t steps_per_epoch, std::int64_t total_steps);

}  // namespace convkit::optim
