// Learning-rate schedules, evaluated per optimizer step from the step index alone (so a
// resumed run gets the same rates). Formulas follow PyTorch's lr_scheduler classes:
//   constant; step (x gamma every step_epochs); multi_step (x gamma at each milestone epoch);
//   exponential (x gamma per epoch); cosine (CosineAnnealingLR to min_lr over the run);
//   one_cycle (OneCycleLR, cosine annealing: base_lr/div_factor -> max = base_lr at pct_start,
//   -> base_lr/(div_factor*final_div_factor) at the end).
// warmup_epochs > 0 ramps linearly from 0 to the schedule's rate over the first epochs.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace convkit::optim {

struct ScheduleOptions {
  std::string type = "constant";  // constant | step | multi_step | exponential | cosine | one_cycle
  double gamma = 0.1;             // step, multi_step, exponential
  double step_epochs = 10;        // step
  std::vector<double> milestones; // multi_step (epochs)
  double min_lr = 0;              // cosine
  double pct_start = 0.3;         // one_cycle
  double div_factor = 25;         // one_cycle
  double final_div_factor = 1e4;  // one_cycle
  double warmup_epochs = 0;
};

// Validates the options; throws Error naming the bad key ("schedule.gamma") and value.
void validate(const ScheduleOptions& options);

// The learning rate for `step` (0-based) of a run of `total_steps`, `steps_per_epoch` steps each.
double learning_rate(const ScheduleOptions& options, double base_lr, std::int64_t step,
                     std::int64_t steps_per_epoch, std::int64_t total_steps);

}  // namespace convkit::optim
