// The tuner's loop: a worker claims a trial from the study, trains each of its executions with
// run::train (resuming one that has a last.ckpt), records the objectives, and goes on until the
// study has its trials; tune() forks the workers and writes the summary.
#include <convkit/dist/process_group.h>
#include <convkit/run/errors.h>
#include <convkit/run/train.h>
#include <convkit/tune/tuner.h>

#include <fmt/format.h>
#include <omp.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <fstream>
#include <mutex>
#include <thread>

namespace convkit::tune {

using run::config_fail;
namespace fs = std::filesystem;

namespace {

using Clock = std::chrono::steady_clock;

// Where the study lives: OUT/study.db unless a postgresql:// URL is given.
std::string storage_of(const TuneOptions& o) {
  return o.storage.empty() ? (o.out / "study.db").string() : o.storage;
}

fs::path run_dir_of(const TuneOptions& o, int trial, int execution) {
  return o.out / "trials" / fmt::format("{:04d}", trial) / fmt::format("run-{}", execution + 1);
}

std::optional<std::string> base_config_file(const TuneSpec& spec) {
  return spec.config.empty() ? std::nullopt : std::optional(spec.config.string());
}

bool tunes_dataset(const TuneSpec& spec) {
  for (const auto& p : spec.space.params())
    if (p.key.starts_with("dataset.")) return true;
  return false;
}

// The overrides of one execution: the spec's, the trial's parameters, the seed and the threads.
std::vector<std::string> execution_sets(const TuneSpec& spec, const Assignment& params,
                                        int execution, int threads) {
  std::vector<std::string> sets = spec.sets;
  const auto trial_sets = spec.space.sets(params);
  sets.insert(sets.end(), trial_sets.begin(), trial_sets.end());
  const run::RunConfig plain = run::load_run_config(base_config_file(spec), sets);
  sets.push_back(fmt::format("train.seed={}", plain.seed + std::uint64_t(execution)));
  if (threads > 0) sets.push_back(fmt::format("train.threads={}", threads));
  return sets;
}

std::string value_text(double v) {
  return fmt::format("{:.5f}", v);
}

// Sends a heartbeat for this worker's trials every few seconds from its own connection.
class Heartbeat {
 public:
  Heartbeat(const std::string& storage, std::string owner)
      : thread_([this, storage, owner = std::move(owner)] {
          std::optional<Study> study;
          try {
            study.emplace(Study::open(storage));
          } catch (const std::exception&) {  // the worker's own connection reports such errors
            return;
          }
          std::unique_lock lock(mutex_);
          while (!stop_) {
            cv_.wait_for(lock, std::chrono::seconds(15));
            if (stop_) break;
            try {
              study->heartbeat(owner);
            } catch (const std::exception&) {  // busy: the next beat tries again
            }
          }
        }) {}
  ~Heartbeat() {
    {
      std::lock_guard lock(mutex_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

volatile sig_atomic_t g_stop_signal = 0;

}  // namespace

double Objective::of_epoch(const train::EpochLog& e) const {
  if (metric == "loss") return e.loss;
  if (metric == "accuracy") return e.accuracy;
  if (metric == "val_loss") return e.val_loss;
  if (metric == "val_accuracy") return e.val_accuracy;
  if (metric == "val_top5") return e.val_top5;
  if (metric == "val_macro_f1") return e.val_macro_f1;
  return NAN;
}

double objective_of(const Objective& o, const run::RunResult& r) {
  const auto& m = o.metric;
  if (m == "test_accuracy") return r.test.accuracy;
  if (m == "test_loss") return r.test.loss;
  if (m == "test_macro_f1") return r.test.macro.f1;
  double best = NAN;
  for (const auto& e : r.history.epochs)
    if (const double v = o.of_epoch(e); !std::isnan(v) && (std::isnan(best) || o.better(v, best)))
      best = v;
  if (std::isnan(best))
    config_fail("objective: the run has no '{}'{}", m,
                m.starts_with("val_")
                    ? " (no validation data: set dataset.validation_split, e.g. 0.1)"
                    : "");
  return best;
}

Study open_study(const TuneSpec& spec, const TuneOptions& options) {
  const std::string storage = storage_of(options);
  if (options.resume) {
    Study study = Study::open(storage);
    if (study.spec_text() != spec.text)
      config_fail(
          "--resume: the spec differs from the one study {} was started with (its text is kept "
          "there; tune a changed spec into another study)",
          study.where());
    return study;
  }
  if (options.storage.empty() && fs::exists(storage))
    config_fail("--out {}: a study is there already; continue it with --resume",
                options.out.string());
  fs::create_directories(options.out);
  return Study::create(storage, spec.text);
}

namespace {

// What a worker takes next: under successive halving, the best paused trial that its rung
// promotes (from the top rung down), else a new trial at the first rung; otherwise a new trial
// while the study has fewer than max_trials.
Study::Decision decide(const TuneSpec& spec, const std::vector<Trial>& all, int next,
                       bool may_start) {
  const auto observations = [&] {
    std::vector<Observation> finished;
    for (const auto& t : all) {
      std::optional<double> v;
      if (spec.hyperband) {  // the first rung: every trial's figure at the same budget
        if (const auto it = t.rung_values.find(0); it != t.rung_values.end()) v = it->second;
      } else if (t.state == TrialState::Complete) {
        v = t.value;
      }
      if (v) finished.push_back({t.params, spec.objective.maximize ? -*v : *v});
    }
    return finished;
  };
  Study::Decision d;
  if (spec.hyperband) {
    const std::vector<int> rungs = spec.hyperband->rungs();
    for (int k = int(rungs.size()) - 2; k >= 0; --k) {
      std::vector<const Trial*> at;
      for (const auto& t : all)
        if (t.rung_values.count(k)) at.push_back(&t);
      std::sort(at.begin(), at.end(), [&](const Trial* a, const Trial* b) {
        return spec.objective.better(a->rung_values.at(k), b->rung_values.at(k));
      });
      const std::size_t promote = at.size() / std::size_t(spec.hyperband->eta);
      for (std::size_t i = 0; i < promote; ++i)
        if (at[i]->state == TrialState::Paused && at[i]->rung == k) {
          d.take = at[i]->number;
          d.target_epochs = rungs[std::size_t(k) + 1];
          return d;
        }
    }
    d.target_epochs = rungs.front();
  }
  if (may_start && int(all.size()) < spec.max_trials)
    d.create = propose(spec.space, observations(), spec.searcher, spec.seed, next);
  return d;
}

// Median pruning: whether a trial whose curve (best so far per epoch) is `curve` stops now.
bool prune_now(const TuneSpec& spec, const std::vector<Trial>& all, int number,
               const std::vector<double>& curve) {
  const int epoch = int(curve.size());
  if (!spec.pruner || epoch <= spec.pruner->warmup_epochs) return false;
  std::vector<double> others;
  int finished = 0;
  for (const auto& t : all) {
    if (t.number == number || t.state == TrialState::Running || t.state == TrialState::Failed)
      continue;
    ++finished;
    if (int(t.curve.size()) >= epoch) others.push_back(t.curve[std::size_t(epoch) - 1]);
  }
  if (finished < spec.pruner->startup_trials || others.empty()) return false;
  std::sort(others.begin(), others.end());
  const std::size_t n = others.size();
  const double median = n % 2 ? others[n / 2] : 0.5 * (others[n / 2 - 1] + others[n / 2]);
  return spec.objective.better(median, curve.back());
}

}  // namespace

void work(const TuneSpec& spec, const TuneOptions& options, int threads) {
  Study study = Study::open(storage_of(options));
  const std::string owner = Study::owner_of_this_process();
  Heartbeat heartbeat(storage_of(options), owner);
  const auto start = Clock::now();
  std::optional<run::LoadedData> data = options.data;
  const bool shared_data = !tunes_dataset(spec);
  const SearchSpace& space = spec.space;
  const bool test_objective = spec.objective.metric.starts_with("test_");
  const auto finished_count = [&] {
    int done = 0;
    for (const auto& t : study.trials()) done += t.state != TrialState::Running;
    return done;
  };
  const int done_at_start = finished_count();
  for (;;) {
    const double minutes = std::chrono::duration<double>(Clock::now() - start).count() / 60;
    const bool may_start = spec.budget_minutes <= 0 || minutes < spec.budget_minutes;
    std::optional<Trial> trial = study.claim(owner, [&](const std::vector<Trial>& all, int next) {
      return decide(spec, all, next, may_start);
    });
    if (!trial) {
      // Successive halving: a trial another worker is training may still make one promotable.
      bool others_running = false;
      for (const auto& t : study.trials()) others_running |= t.state == TrialState::Running;
      if (spec.hyperband && others_running) {
        std::this_thread::sleep_for(std::chrono::seconds(1));
        continue;
      }
      return;
    }
    const std::string described = space.describe(trial->params);
    if (options.print && (!trial->executions.empty() || trial->heartbeat != trial->started))
      fmt::print("trial {} continues{}: {}\n", trial->number,
                 trial->target_epochs > 0
                     ? fmt::format(" to epoch {}", trial->target_epochs)
                     : fmt::format(" ({} of {} executions done)", trial->executions.size(),
                                   spec.executions_per_trial),
                 described);
    std::fflush(stdout);
    std::string outcome = "complete";
    try {
      double seconds = 0;
      std::optional<double> pruned_at;
      for (int e = int(trial->executions.size()); e < spec.executions_per_trial; ++e) {
        const fs::path dir = run_dir_of(options, trial->number, e);
        const bool resume = fs::exists(dir / "checkpoints/last.ckpt");
        std::vector<std::string> epochs;
        if (trial->target_epochs > 0)
          epochs.push_back(fmt::format("train.epochs={}", trial->target_epochs));
        std::vector<std::string> sets = execution_sets(spec, trial->params, e, threads);
        sets.insert(sets.end(), epochs.begin(), epochs.end());
        const run::RunConfig config = resume ? run::load_run_directory_config(dir, epochs)
                                             : run::load_run_config(base_config_file(spec), sets);
        if (!data && shared_data && !resume)
          data = run::load_data(run::data_request(config, options.data_dir));
        std::vector<double> curve = e == 0 ? trial->curve : std::vector<double>{};
        run::TrainOptions train_options{.out = dir,
                                        .resume = resume,
                                        .data_dir = options.data_dir,
                                        .overwrite = !resume,
                                        .show_summary = false,
                                        .progress = false,
                                        .verbose = false,
                                        .write_report = false,
                                        .evaluate_test = test_objective};
        if (shared_data && data) train_options.data = data;
        if (e == 0 && !test_objective)
          train_options.on_epoch_end = [&](const train::EpochLog& log) {
            const double v = spec.objective.of_epoch(log);
            if (std::isnan(v)) return true;
            curve.resize(std::size_t(log.epoch) - 1, curve.empty() ? v : curve.back());
            curve.push_back(curve.empty() || spec.objective.better(v, curve.back()) ? v
                                                                                    : curve.back());
            study.set_curve(trial->number, curve);
            return !(spec.pruner && prune_now(spec, study.trials(), trial->number, curve));
          };
        const run::RunResult result = run::train(config, train_options);
        if (result.interrupted) {
          g_stop_signal = result.signal;
          return;
        }
        seconds += result.train_seconds;
        if (result.stopped) {
          pruned_at = curve.back();
          break;
        }
        const double value = objective_of(spec.objective, result);
        if (!spec.hyperband) study.add_execution(trial->number, value, result.train_seconds);
        trial->executions.push_back(value);
      }
      trial->seconds += seconds;
      double value = 0;
      if (pruned_at) {
        value = *pruned_at;
        study.prune(trial->number, value, seconds);
        outcome = "pruned";
      } else {
        for (double v : trial->executions) value += v;
        value /= double(trial->executions.size());
        if (spec.hyperband) {
          const auto rungs = spec.hyperband->rungs();
          const int rung =
              int(std::find(rungs.begin(), rungs.end(), trial->target_epochs) - rungs.begin());
          study.pause(trial->number, rung, value, seconds);
          outcome = fmt::format("rung {} ({} epochs)", rung, trial->target_epochs);
          if (rung + 1 == int(rungs.size())) study.complete(trial->number, value);
        } else {
          study.complete(trial->number, value);
        }
      }
      if (options.print) {
        const auto all = study.trials();
        std::optional<double> best;
        int done = 0;
        for (const auto& t : all) {
          if (t.state != TrialState::Running) ++done;
          if (t.value && t.state != TrialState::Pruned &&
              (!best || spec.objective.better(*t.value, *best)))
            best = t.value;
        }
        // Rate and ETA from the trials finished since this worker started (all workers').
        const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
        const double per_minute = 60.0 * double(done - done_at_start) / std::max(elapsed, 1e-3);
        const double eta = per_minute > 0 ? 60.0 * (spec.max_trials - done) / per_minute : 0.0;
        fmt::print(
            "trial {:>3}  {:<40}  {} {}  (best {})  {}  {:.1f} s  [{}/{}, {:.2f} trials/min, ETA "
            "{}:{:02d}]\n",
            trial->number, described, spec.objective.metric, value_text(value),
            best ? value_text(*best) : "-", outcome, trial->seconds, done, spec.max_trials,
            per_minute, int(eta) / 60, int(eta) % 60);
      }
    } catch (const run::ConfigError& e) {
      study.fail(trial->number, e.what());
      if (options.print)
        fmt::print("trial {:>3}  {}  failed: {}\n", trial->number, described, e.what());
      if (trial->number == 0) throw;  // the first trial: the spec itself is wrong
    } catch (const run::DataError&) {
      study.fail(trial->number, "data error");
      throw;
    }
    std::fflush(stdout);
  }
}

TuneResult summarize(const TuneSpec& spec, const TuneOptions& options) {
  const Study study = Study::open(storage_of(options));
  TuneResult r;
  r.trials = study.trials();
  for (const auto& t : r.trials)
    if ((t.state == TrialState::Complete || t.state == TrialState::Paused) && t.value &&
        (!r.best || spec.objective.better(*t.value, *r.best->value)))
      r.best = t;
  // trials.csv: one row per trial, a column per parameter.
  {
    std::ofstream csv(options.out / "trials.csv.tmp");
    csv << "trial,state";
    for (const auto& p : spec.space.params()) csv << "," << p.name;
    csv << "," << spec.objective.metric << ",executions,seconds,error\n";
    for (const auto& t : r.trials) {
      csv << t.number << "," << state_name(t.state);
      for (const auto& p : spec.space.params()) {
        csv << ",";
        if (const auto it = t.params.find(p.name); it != t.params.end()) {
          std::string text = spec.space.text(p, it->second);
          if (text.find_first_of(",\"") != std::string::npos) text = "\"" + text + "\"";
          csv << text;
        }
      }
      csv << "," << (t.value ? value_text(*t.value) : "") << "," << t.executions.size() << ","
          << fmt::format("{:.1f}", t.seconds) << ",\"" << t.error.substr(0, 200) << "\"\n";
    }
  }
  fs::rename(options.out / "trials.csv.tmp", options.out / "trials.csv");
  {
    std::ofstream(options.out / "report.html.tmp") << render_study_report(spec, r.trials, r.best);
    fs::rename(options.out / "report.html.tmp", options.out / "report.html");
  }
  if (r.best) {
    std::vector<std::string> sets = spec.sets;
    const auto best_sets = spec.space.sets(r.best->params);
    sets.insert(sets.end(), best_sets.begin(), best_sets.end());
    const run::RunConfig best = run::load_run_config(base_config_file(spec), sets);
    r.best_config = options.out / "best.yaml";
    std::ofstream(options.out / "best.yaml.tmp")
        << fmt::format("# The best trial ({}) of the study in {}: {} {}\n# {}\n", r.best->number,
                       options.out.string(), spec.objective.metric, value_text(*r.best->value),
                       spec.space.describe(r.best->params))
        << best.resolved_yaml;
    fs::rename(options.out / "best.yaml.tmp", r.best_config);
  }
  return r;
}

TuneResult tune(const TuneSpec& spec, const TuneOptions& options) {
  const auto start = Clock::now();
  // Trials are processes of the tuner's own (--workers); inside an MPI job every trial would try
  // to join it as the launcher's rank.
  if (const dist::LaunchInfo job = dist::launch_from_environment(); job.size > 1)
    config_fail(
        "the tuner runs inside a data-parallel job ({} ranks, started by {}): start convkit tune "
        "as one process and use --workers for parallel trials",
        job.size, job.launcher);
  // Forked workers need a parent that never ran an OpenMP team: libgomp's threads do not survive
  // fork, and a child's first parallel region would wait for them forever. One-thread regions
  // (the config check below builds a model) start none.
  if (options.workers > 1) omp_set_num_threads(1);
  {
    // The config with every parameter at a sampled value must load: key typos fail now, not in
    // a trial (the first trial's own failure stops the study too).
    std::mt19937_64 rng(spec.seed);
    std::vector<std::string> sets = spec.sets;
    const auto sampled = spec.space.sets(spec.space.sample_uniform(rng));
    sets.insert(sets.end(), sampled.begin(), sampled.end());
    run::load_run_config(base_config_file(spec), sets);
  }
  open_study(spec, options);
  if (options.workers < 1) config_fail("--workers: must be >= 1, got {}", options.workers);
  const int cores = int(std::max(1u, std::thread::hardware_concurrency()));
  const int threads = options.threads > 0 ? options.threads : std::max(1, cores / options.workers);
  if (options.print)
    fmt::print(
        "tuning {} ({} searcher, {} trials x {} executions, objective {} {}) in {}: {} "
        "worker{} x {} thread{}\n",
        spec.config.empty() ? "the default config" : spec.config.string(), spec.searcher.kind,
        spec.max_trials, spec.executions_per_trial, spec.objective.maximize ? "max" : "min",
        spec.objective.metric, options.out.string(), options.workers,
        options.workers == 1 ? "" : "s", threads, threads == 1 ? "" : "s");
  std::fflush(stdout);
  g_stop_signal = 0;
  if (options.workers == 1) {
    work(spec, options, threads);
  } else {
    // Workers are processes: each trains with its own OpenMP team. Forked before this process
    // runs OpenMP work (as the CLI does); they die with it (PDEATHSIG) and get its SIGINT/SIGTERM.
    std::vector<pid_t> children;
    const pid_t parent = ::getpid();
    for (int i = 0; i < options.workers; ++i) {
      const pid_t pid = ::fork();
      if (pid < 0) throw Error("tune: fork failed");
      if (pid == 0) {
        ::prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (::getppid() != parent) ::_exit(1);
        int code = 0;
        try {
          work(spec, options, threads);
          if (g_stop_signal) code = 128 + g_stop_signal;
        } catch (const run::ConfigError& e) {
          fmt::print(stderr, "convkit tune: worker {}: {}\n", i + 1, e.what());
          code = 2;
        } catch (const run::DataError& e) {
          fmt::print(stderr, "convkit tune: worker {}: {}\n", i + 1, e.what());
          code = 3;
        } catch (const std::exception& e) {
          fmt::print(stderr, "convkit tune: worker {}: {}\n", i + 1, e.what());
          code = 1;
        }
        std::fflush(stdout);
        std::fflush(stderr);
        ::_exit(code);
      }
      children.push_back(pid);
    }
    // The parent forwards SIGINT/SIGTERM to the workers (which save their checkpoints) and waits.
    static std::vector<pid_t>* forward_to = nullptr;
    forward_to = &children;
    struct sigaction action {
    }, old_int{}, old_term{};
    action.sa_handler = [](int sig) {
      g_stop_signal = sig;
      if (forward_to)
        for (pid_t c : *forward_to) ::kill(c, sig);
    };
    sigemptyset(&action.sa_mask);
    ::sigaction(SIGINT, &action, &old_int);
    ::sigaction(SIGTERM, &action, &old_term);
    int worst = 0;
    for (pid_t c : children) {
      int status = 0;
      while (::waitpid(c, &status, 0) < 0 && errno == EINTR) {
      }
      const int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      if (code > 128 && !g_stop_signal) g_stop_signal = code - 128;
      if (code == 2 || code == 3 || (code != 0 && worst == 0)) worst = code;
    }
    ::sigaction(SIGINT, &old_int, nullptr);
    ::sigaction(SIGTERM, &old_term, nullptr);
    forward_to = nullptr;
    if (worst == 2) throw run::ConfigError("tune: a worker stopped on a config error (above)");
    if (worst == 3) throw run::DataError("tune: a worker stopped on a data error (above)");
  }
  TuneResult r = summarize(spec, options);
  r.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  r.interrupted_by = int(g_stop_signal);
  return r;
}

}  // namespace convkit::tune
