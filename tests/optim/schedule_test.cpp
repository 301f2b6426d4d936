// Learning-rate schedules against PyTorch's lr_scheduler values (computed once by
// tests/optim/make_schedule_expected.py and pasted here), and option validation.
#include <convkit/optim/schedule.h>
#include <convkit/util/error.h>

#include <gtest/gtest.h>

#include <vector>

namespace convkit::optim {
namespace {

void expect_rates(const ScheduleOptions& o, std::int64_t steps_per_epoch, std::int64_t total,
                  const std::vector<double>& expected) {
  for (std::size_t i = 0; i < expected.size(); ++i)
    EXPECT_NEAR(learning_rate(o, 0.1, std::int64_t(i), steps_per_epoch, total), expected[i],
                1e-9 + 1e-7 * expected[i])
        << o.type << " step " << i;
}

TEST(ScheduleTest, OneCycleMatchesPyTorch) {
  expect_rates({.type = "one_cycle", .pct_start = 0.3}, 4, 20,
               {0.004,         0.01316718427, 0.03716718427,  0.06683281573,  0.09083281573,
                0.1,           0.09874640062, 0.0950484632,   0.08909161776,  0.08117456539,
                0.07169430018, 0.06112620219, 0.0500002,      0.03887419781,  0.02830609982,
                0.01882583461, 0.01090878224, 0.004951936799, 0.001253999376, 4e-07});
}

TEST(ScheduleTest, CosineMatchesPyTorch) {
  expect_rates({.type = "cosine", .min_lr = 0.001}, 4, 20,
               {0.1,           0.09939057286, 0.09757729756,  0.09460482295,  0.09054634122,
                0.08550178567, 0.07959536999, 0.07297252974,  0.06579634122,  0.05824350602,
                0.0505,        0.04275649398, 0.03520365878,  0.02802747026,  0.02140463001,
                0.01549821433, 0.01045365878, 0.006395177053, 0.003422702443, 0.001609427141});
}

TEST(ScheduleTest, EpochSchedulesMatchPyTorch) {
  // One step per epoch, as PyTorch's per-epoch schedulers are stepped.
  expect_rates({.type = "step", .gamma = 0.5, .step_epochs = 3}, 1, 10,
               {0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.025, 0.025, 0.025, 0.0125});
  expect_rates({.type = "multi_step", .gamma = 0.1, .milestones = {2, 5}}, 1, 8,
               {0.1, 0.1, 0.01, 0.01, 0.01, 0.001, 0.001, 0.001});
  expect_rates({.type = "exponential", .gamma = 0.9}, 1, 5, {0.1, 0.09, 0.081, 0.0729, 0.06561});
  // With several steps per epoch the rate changes at epoch boundaries only.
  ScheduleOptions step{.type = "step", .gamma = 0.5, .step_epochs = 1};
  EXPECT_DOUBLE_EQ(learning_rate(step, 0.1, 9, 10, 100), 0.1);
  EXPECT_DOUBLE_EQ(learning_rate(step, 0.1, 10, 10, 100), 0.05);
}

TEST(ScheduleTest, CosineWarmRestartsMatchesPyTorch) {
  expect_rates({.type = "cosine_restarts", .min_lr = 0.01, .restart_epochs = 3, .restart_mult = 2},
               1, 12,
               {0.1, 0.0775, 0.0325, 0.1, 0.09397114317, 0.0775, 0.055, 0.0325, 0.01602885683, 0.1,
                0.09846666218, 0.09397114317});
}

TEST(ScheduleTest, CyclicModesMatchPyTorch) {
  // CyclicLR(base_lr=0.01, max_lr=0.1, step_size_up=4): 2 steps per epoch, cycle_epochs 2.
  ScheduleOptions o{.type = "cyclic", .gamma = 0.9, .min_lr = 0.01, .cycle_epochs = 2};
  o.cyclic_mode = "triangular";
  expect_rates(o, 2, 18,
               {0.01, 0.0325, 0.055, 0.0775, 0.1, 0.0775, 0.055, 0.0325, 0.01, 0.0325, 0.055,
                0.0775, 0.1, 0.0775, 0.055, 0.0325, 0.01, 0.0325});
  o.cyclic_mode = "triangular2";
  expect_rates(o, 2, 18,
               {0.01, 0.0325, 0.055, 0.0775, 0.1, 0.0775, 0.055, 0.0325, 0.01, 0.02125, 0.0325,
                0.04375, 0.055, 0.04375, 0.0325, 0.02125, 0.01, 0.015625});
  o.cyclic_mode = "exp_range";
  expect_rates(o, 2, 18,
               {0.01, 0.03025, 0.04645, 0.0592075, 0.069049, 0.049858075, 0.033914845,
                0.02076168025, 0.01, 0.018716961, 0.0256905298, 0.03118221524, 0.03541865828,
                0.02715759434, 0.0202945566, 0.01463255047, 0.01, 0.01375236588});
}

TEST(ScheduleTest, LinearWarmupScalesTheFirstEpochs) {
  ScheduleOptions o{.type = "constant", .warmup_epochs = 2};
  EXPECT_DOUBLE_EQ(learning_rate(o, 0.1, 0, 10, 100), 0.1 * 1 / 20);
  EXPECT_DOUBLE_EQ(learning_rate(o, 0.1, 9, 10, 100), 0.1 * 10 / 20);
  EXPECT_DOUBLE_EQ(learning_rate(o, 0.1, 20, 10, 100), 0.1);
}

TEST(ScheduleTest, InvalidOptionsNameTheKey) {
  auto message = [](ScheduleOptions o) {
    try {
      validate(o);
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  EXPECT_NE(message({.type = "linear_decay"}).find("schedule.type"), std::string::npos);
  EXPECT_NE(message({.gamma = -1}).find("schedule.gamma"), std::string::npos);
  EXPECT_NE(message({.type = "one_cycle", .pct_start = 1.5}).find("schedule.pct_start"),
            std::string::npos);
  EXPECT_NE(message({.milestones = {3, -1}}).find("schedule.milestones"), std::string::npos);
  EXPECT_NE(message({.restart_mult = 0.5}).find("schedule.restart_mult"), std::string::npos);
  EXPECT_NE(message({.cyclic_mode = "sawtooth"}).find("schedule.cyclic_mode"), std::string::npos);
  EXPECT_EQ(message({}), "");
}

}  // namespace
}  // namespace convkit::optim
