// tune::Study: a hyperparameter study's state in one SQLite file (WAL mode), shared by every
// worker process on the machine or on machines that see the file, or in PostgreSQL (a
// postgresql:// URL) for machines sharing a server: the tuning spec it was created with, and its
// trials — parameters, state, each execution's objective, who runs it and when it
// last said so. Every change is one transaction; a worker claims its next trial under
// an exclusive lock (SQLite: BEGIN IMMEDIATE; PostgreSQL: LOCK TABLE), so two workers never take
// the same trial or number. A trial whose worker died
// (its process is gone, or its heartbeat is older than `stale_seconds`) is claimed again and
// continues from its checkpoints. Errors name the file: not a study, a newer schema, locked.
#pragma once

#include <convkit/tune/space.h>

#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace convkit::tune {

// Running: a worker trains it. Paused: successive halving trained it to a rung and it waits for a
// promotion (or stays there). Pruned: stopped early for a poor curve. Complete, Failed: ended.
enum class TrialState { Running, Paused, Complete, Pruned, Failed };
const char* state_name(TrialState state);

struct Trial {
  int number = 0;  // 0, 1, ... in creation order
  TrialState state = TrialState::Running;
  Assignment params;
  std::vector<double> executions;     // the objective of each finished execution
  std::optional<double> value;        // complete: the mean of the executions; paused, pruned: the
                                      // latest figure
  int target_epochs = 0;              // what the running trial trains to (0: its config's epochs)
  int rung = -1;                      // successive halving: the highest rung reached
  std::map<int, double> rung_values;  // rung -> objective there
  std::vector<double> curve;  // the first execution's objective (best so far) after each epoch
  std::string owner;          // "host:pid:token" of the worker running it
  double started = 0, finished = 0, heartbeat = 0;  // seconds since the epoch
  double seconds = 0;  // training time spent on it (all executions, across interruptions)
  std::string error;   // failed: why
};

class Study {
 public:
  // Creates the study (a SQLite file, its folder existing; or a postgresql:// URL's database)
  // holding `spec_text`; ConfigError when a study is there already.
  static Study create(const std::string& where, const std::string& spec_text);
  // Opens an existing study; ConfigError when the file is missing or holds no convkit study, or
  // the server cannot be reached.
  static Study open(const std::string& where);
  Study(Study&&) noexcept;
  Study& operator=(Study&&) noexcept;
  ~Study();

  const std::string& where() const;  // the file or URL (without its password)
  std::string spec_text() const;
  std::vector<Trial> trials() const;

  // What a worker takes next, decided from all trials inside the claim's transaction: a paused
  // trial to continue (`take`) or a new one (`create`), to `target_epochs`; neither: nothing.
  struct Decision {
    int take = -1;
    std::optional<Assignment> create;
    int target_epochs = 0;
  };
  using Decider = std::function<Decision(const std::vector<Trial>&, int next_number)>;
  // In one write transaction: a running trial whose worker is gone (taken over by `owner`, to
  // its target), else what `decide` says; nullopt when nothing.
  std::optional<Trial> claim(const std::string& owner, const Decider& decide,
                             double stale_seconds = 120);
  // The plain form: a new trial with propose()'s parameters while fewer than max_trials exist.
  using Proposer = std::function<Assignment(const std::vector<Trial>&, int number)>;
  std::optional<Trial> claim(const std::string& owner, int max_trials, bool may_start,
                             const Proposer& propose, double stale_seconds = 120);
  void add_execution(int number, double objective, double seconds);
  void set_curve(int number, const std::vector<double>& curve);
  void complete(int number, double value);
  void pause(int number, int rung, double value, double seconds);  // reached a rung
  void prune(int number, double value, double seconds);
  void fail(int number, const std::string& error);
  void heartbeat(const std::string& owner);  // every running trial of this owner: now

  // A worker's owner string for this process: "host:pid:token".
  static std::string owner_of_this_process();

 private:
  struct Db;
  explicit Study(std::unique_ptr<Db> db);
  std::unique_ptr<Db> db_;
};

}  // namespace convkit::tune
