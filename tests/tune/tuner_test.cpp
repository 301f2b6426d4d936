// The tuner in one process on the synthetic bars: a study of trials x executions whose files say
// the same as its result, a resume that repeats nothing, the best config ready to train, and the
// spec's mistakes as ConfigErrors naming their key.
#include <convkit/run/errors.h>
#include <convkit/tune/tuner.h>

#include "run/run_test_util.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <sstream>

namespace convkit::tune {
namespace {

using run::testing::TempDir;

std::string read(const std::filesystem::path& p) {
  std::stringstream s;
  s << std::ifstream(p).rdbuf();
  return s.str();
}

TuneSpec bars_spec(const TempDir& tmp, const std::string& extra = "") {
  std::ofstream(tmp.path / "bars.yaml") << run::testing::kBarsConfig;
  return parse_tune_spec(R"(
config: bars.yaml
set: [train.epochs=2, dataset.validation_split=0.25]
objective: val_accuracy
max_trials: 3
executions_per_trial: 2
searcher: random
seed: 4
space:
  - {name: filters, key: model.layers.0.filters, type: int, low: 4, high: 12, step: 4}
  - {name: lr, key: train.optimizer.lr, type: choice, values: [0.01, 0.003]}
)" + extra,
                         "spec.yaml", tmp.path);
}

std::string error_of(const std::string& text) {
  TempDir tmp;
  std::ofstream(tmp.path / "bars.yaml") << run::testing::kBarsConfig;
  try {
    parse_tune_spec(text, "spec.yaml", tmp.path);
  } catch (const run::ConfigError& e) {
    return e.what();
  }
  return "";
}

TEST(Tune, AStudyRunsItsTrialsAndWritesTheirSummary) {
  TempDir tmp;
  const TuneSpec spec = bars_spec(tmp);
  const TuneOptions options{
      .out = tmp.path / "study", .threads = 2, .data = run::testing::bars_data(), .print = false};
  const TuneResult r = tune(spec, options);
  ASSERT_EQ(r.trials.size(), 3u);
  for (const auto& t : r.trials) {
    EXPECT_EQ(t.state, TrialState::Complete) << t.error;
    ASSERT_EQ(t.executions.size(), 2u);
    EXPECT_DOUBLE_EQ(*t.value, (t.executions[0] + t.executions[1]) / 2);
    EXPECT_GT(*t.value, 0.25);  // better than chance on 4 classes
    for (int e = 1; e <= 2; ++e)
      EXPECT_TRUE(std::filesystem::exists(
          options.out / fmt::format("trials/{:04d}/run-{}/history.csv", t.number, e)));
  }
  // The two executions differ by their seeds.
  const auto cfg1 = read(options.out / "trials/0000/run-1/config.yaml");
  const auto cfg2 = read(options.out / "trials/0000/run-2/config.yaml");
  EXPECT_NE(cfg1, cfg2);
  ASSERT_TRUE(r.best);
  for (const auto& t : r.trials) EXPECT_LE(*t.value, *r.best->value);
  // best.yaml is a config with the best parameters, ready to train.
  const run::RunConfig best = run::load_run_config(r.best_config.string(), {});
  EXPECT_EQ(best.epochs, 2);
  const auto csv = read(options.out / "trials.csv");
  EXPECT_EQ(csv.substr(0, csv.find('\n')),
            "trial,state,filters,lr,val_accuracy,executions,seconds,error");
  EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 4);
  // report.html: the sections, a parallel-coordinates line per finished trial, the best marked.
  const auto html = read(options.out / "report.html");
  for (const char* id :
       {"id=\"best\"", "id=\"history\"", "id=\"parallel\"", "id=\"importance\"", "id=\"trials\""})
    EXPECT_NE(html.find(id), std::string::npos) << id;
  std::size_t lines = 0;
  for (auto at = html.find("<polyline class=\"trial\""); at != std::string::npos;
       at = html.find("<polyline class=\"trial\"", at + 1))
    ++lines;
  EXPECT_EQ(lines, 3u);
  EXPECT_NE(html.find(fmt::format("<tr class=\"best\"><td>{}</td>", r.best->number)),
            std::string::npos);

  // Resume a finished study: nothing runs again, the results are the same.
  TuneOptions again = options;
  again.resume = true;
  const TuneResult r2 = tune(spec, again);
  ASSERT_EQ(r2.trials.size(), 3u);
  for (std::size_t i = 0; i < 3; ++i) EXPECT_EQ(r2.trials[i].value, r.trials[i].value);
  // Without --resume the study is not overwritten; with a changed spec it is not joined.
  EXPECT_THROW(tune(spec, options), run::ConfigError);
  EXPECT_THROW(tune(bars_spec(tmp, "budget: {minutes: 5}\n"), again), run::ConfigError);
}

// Successive halving: every trial trains the first rung; the best 1/eta of a rung continue from
// their checkpoints to the next (their history has exactly the rung's epochs, counted once).
TEST(Tune, HyperbandContinuesPromotedTrialsFromTheirCheckpoints) {
  TempDir tmp;
  std::ofstream(tmp.path / "bars.yaml") << run::testing::kBarsConfig;
  const TuneSpec spec = parse_tune_spec(R"(
config: bars.yaml
set: [dataset.validation_split=0.25, train.schedule.type=constant]
objective: val_accuracy
max_trials: 8
searcher: random
hyperband: {min_epochs: 1, max_epochs: 4, eta: 2}
space:
  - {name: lr, key: train.optimizer.lr, type: float, low: 0.0001, high: 0.03, log: true}
)",
                                        "spec.yaml", tmp.path);
  EXPECT_EQ(spec.hyperband->rungs(), (std::vector<int>{1, 2, 4}));
  const TuneOptions options{
      .out = tmp.path / "study", .threads = 2, .data = run::testing::bars_data(), .print = false};
  const TuneResult r = tune(spec, options);
  ASSERT_EQ(r.trials.size(), 8u);
  int at[3] = {0, 0, 0}, epochs = 0;
  for (const auto& t : r.trials) {
    ASSERT_TRUE(t.state == TrialState::Paused || t.state == TrialState::Complete) << t.error;
    EXPECT_EQ(t.state == TrialState::Complete, t.rung == 2);
    for (int k = 0; k <= t.rung; ++k) {
      ASSERT_TRUE(t.rung_values.count(k)) << t.number << " rung " << k;
      ++at[k];
    }
    EXPECT_DOUBLE_EQ(*t.value, t.rung_values.at(t.rung));
    const auto history =
        read(options.out / fmt::format("trials/{:04d}/run-1/history.csv", t.number));
    const int trained = int(std::count(history.begin(), history.end(), '\n')) - 1;
    EXPECT_EQ(trained, spec.hyperband->rungs()[std::size_t(t.rung)]) << t.number;
    epochs += trained;
  }
  EXPECT_EQ(at[0], 8);
  EXPECT_GE(at[1], 4);  // at least the best half of the first rung
  EXPECT_GE(at[2], 2);
  EXPECT_LT(epochs, 8 * 4 * 3 / 4);  // 16 when synchronous; early promotions add a few
  // Each promoted trial was among the best half of its rung when promoted: the first rung's
  // best trial always reaches the second.
  const Trial* best0 = &r.trials[0];
  for (const auto& t : r.trials)
    if (t.rung_values.at(0) > best0->rung_values.at(0)) best0 = &t;
  EXPECT_GE(best0->rung, 1);
}

// Median pruning: a trial whose curve falls below the finished trials' median stops early.
TEST(Tune, MedianPruningStopsPoorTrials) {
  TempDir tmp;
  std::ofstream(tmp.path / "bars.yaml") << run::testing::kBarsConfig;
  const TuneSpec spec = parse_tune_spec(R"(
config: bars.yaml
set: [dataset.validation_split=0.25, train.epochs=4, train.schedule.type=constant]
objective: val_loss
max_trials: 8
searcher: random
seed: 2
pruner: {type: median, startup_trials: 2, warmup_epochs: 1}
space:
  - {name: lr, key: train.optimizer.lr, type: float, low: 0.00001, high: 0.03, log: true}
)",
                                        "spec.yaml", tmp.path);
  const TuneResult r = tune(
      spec,
      {.out = tmp.path / "study", .threads = 2, .data = run::testing::bars_data(), .print = false});
  int pruned = 0;
  for (const auto& t : r.trials) {
    const auto history =
        read(tmp.path / fmt::format("study/trials/{:04d}/run-1/history.csv", t.number));
    const int trained = int(std::count(history.begin(), history.end(), '\n')) - 1;
    EXPECT_EQ(int(t.curve.size()), trained);
    if (t.state == TrialState::Pruned) {
      ++pruned;
      EXPECT_LT(trained, 4);
      EXPECT_GT(trained, 1);  // not within the warm-up
    } else {
      EXPECT_EQ(t.state, TrialState::Complete);
      EXPECT_EQ(trained, 4);
    }
  }
  EXPECT_GE(pruned, 1);
  EXPECT_NE(r.best->state, TrialState::Pruned);
}

TEST(Tune, SpecMistakesAreConfigErrorsNamingTheKey) {
  const std::string base = "config: bars.yaml\n";
  const std::string lr = "space: [{key: train.optimizer.lr, type: float, low: 0.001, high: 0.1}]\n";
  EXPECT_NE(error_of(base + "objective: val_acc\n" + lr).find("'val_acc' names no metric"),
            std::string::npos);
  EXPECT_NE(error_of(base + "space: [{key: train.optimizer.lr, type: float, low: 0.1, high: 0.01}]")
                .find("the range [0.1, 0.01] is empty"),
            std::string::npos);
  EXPECT_NE(error_of(base + "space: [{key: a.lr, type: float, low: 0, high: 0.1, log: true}]")
                .find("a log range must be above 0"),
            std::string::npos);
  EXPECT_NE(error_of(base + "space: [{key: a.m, type: float, low: 0, high: 1, when: {opt: sgd}}]")
                .find("its condition names 'opt', which is no earlier parameter"),
            std::string::npos);
  EXPECT_NE(error_of(base + "max_trial: 3\n" + lr).find("max_trial"), std::string::npos);
  EXPECT_NE(error_of(base + "searcher: grid\n" + lr).find("'grid' is not a searcher"),
            std::string::npos);
  EXPECT_NE(error_of(base).find("space: a list of parameters"), std::string::npos);
  EXPECT_NE(error_of(base + "hyperband: {min_epochs: 3, max_epochs: 2}\n" + lr)
                .find("1 <= min_epochs <= max_epochs"),
            std::string::npos);
  EXPECT_NE(error_of(base + "executions_per_trial: 2\nhyperband: {max_epochs: 9}\n" + lr)
                .find("executions_per_trial: 1"),
            std::string::npos);
  EXPECT_NE(error_of(base + "pruner: mean\n" + lr).find("'mean' is not a pruner"),
            std::string::npos);
  EXPECT_NE(error_of("config: nothing.yaml\n" + lr).find("nothing.yaml is not a file"),
            std::string::npos);
}

TEST(Tune, AKeyTheConfigDoesNotHaveStopsTheStudyBeforeAnyTraining) {
  TempDir tmp;
  std::ofstream(tmp.path / "bars.yaml") << run::testing::kBarsConfig;
  const TuneSpec spec = parse_tune_spec(
      "config: bars.yaml\nspace: [{key: train.optimiser.lr, type: float, low: 0.001, high: 0.1}]\n",
      "spec.yaml", tmp.path);
  try {
    tune(spec, {.out = tmp.path / "study", .data = run::testing::bars_data(), .print = false});
    FAIL() << "no error";
  } catch (const run::ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("optimiser"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(std::filesystem::exists(tmp.path / "study/study.db"));
}

TEST(Tune, InsideAnMpiJobItRefusesToStart) {
  TempDir tmp;
  setenv("PMI_RANK", "0", 1);
  setenv("PMI_SIZE", "2", 1);
  try {
    tune(bars_spec(tmp),
         {.out = tmp.path / "study", .data = run::testing::bars_data(), .print = false});
    FAIL() << "no error";
  } catch (const run::ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("--workers"), std::string::npos) << e.what();
  }
  unsetenv("PMI_RANK");
  unsetenv("PMI_SIZE");
  EXPECT_FALSE(std::filesystem::exists(tmp.path / "study/study.db"));
}

TEST(Tune, AValidationObjectiveWithoutValidationDataIsNamed) {
  TempDir tmp;
  std::ofstream(tmp.path / "bars.yaml") << run::testing::kBarsConfig;
  const TuneSpec spec = parse_tune_spec(
      "config: bars.yaml\nset: [train.epochs=1]\nmax_trials: 1\nspace: [{key: train.optimizer.lr, "
      "type: float, low: 0.001, high: 0.1}]\n",
      "spec.yaml", tmp.path);
  try {
    tune(spec, {.out = tmp.path / "study",
                .threads = 2,
                .data = run::testing::bars_data(),
                .print = false});
    FAIL() << "no error";
  } catch (const run::ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("dataset.validation_split"), std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace convkit::tune
