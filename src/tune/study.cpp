// The study's tables and its operations, over a StudyStore (SQLite or PostgreSQL): one table of
// study facts and one of trials (parameters, executions, rungs and curves as JSON). Claims run in
// the store's exclusive transaction: the decision and the write see the same trials.
#include <convkit/run/errors.h>
#include <convkit/tune/study.h>

#include "tune/study_store.h"

#include <fmt/format.h>
#include <signal.h>
#include <unistd.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <random>

namespace convkit::tune {

namespace {

constexpr int kSchemaVersion = 1;

double now_seconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string num(double v) {
  return fmt::format("{:.17g}", v);
}

std::string host_name() {
  char buffer[256] = {};
  ::gethostname(buffer, sizeof buffer - 1);
  return buffer;
}

TrialState parse_state(const std::string& s) {
  for (TrialState t :
       {TrialState::Paused, TrialState::Complete, TrialState::Pruned, TrialState::Failed})
    if (s == state_name(t)) return t;
  return TrialState::Running;
}

// Whether the owner ("host:pid:token") is a process of this machine that no longer exists.
bool owner_gone_here(const std::string& owner) {
  const auto a = owner.find(':'), b = owner.rfind(':');
  if (a == std::string::npos || b == a || owner.substr(0, a) != host_name()) return false;
  const long pid = std::strtol(owner.substr(a + 1, b - a - 1).c_str(), nullptr, 10);
  return pid > 0 && ::kill(pid_t(pid), 0) != 0 && errno == ESRCH;
}

double real(const std::optional<std::string>& v) {
  return v ? std::strtod(v->c_str(), nullptr) : 0;
}

const char* kColumns =
    "number, state, params, executions, value, owner, started, finished, heartbeat, seconds, "
    "error, target_epochs, rung, rung_values, curve";

Trial trial_of(const StudyStore::Row& r) {
  Trial t;
  t.number = int(real(r[0]));
  t.state = parse_state(r[1].value_or(""));
  const nlohmann::json params = nlohmann::json::parse(r[2].value_or("{}"));  // outlives items()
  for (const auto& [k, v] : params.items()) t.params[k] = v.get<double>();
  t.executions = nlohmann::json::parse(r[3].value_or("[]")).get<std::vector<double>>();
  if (r[4]) t.value = real(r[4]);
  t.owner = r[5].value_or("");
  t.started = real(r[6]);
  t.finished = real(r[7]);
  t.heartbeat = real(r[8]);
  t.seconds = real(r[9]);
  t.error = r[10].value_or("");
  t.target_epochs = int(real(r[11]));
  t.rung = int(real(r[12]));
  const nlohmann::json rungs = nlohmann::json::parse(r[13].value_or("{}"));
  for (const auto& [k, v] : rungs.items()) t.rung_values[std::stoi(k)] = v.get<double>();
  t.curve = nlohmann::json::parse(r[14].value_or("[]")).get<std::vector<double>>();
  return t;
}

}  // namespace

const char* state_name(TrialState state) {
  switch (state) {
    case TrialState::Running:
      return "running";
    case TrialState::Paused:
      return "paused";
    case TrialState::Complete:
      return "complete";
    case TrialState::Pruned:
      return "pruned";
    case TrialState::Failed:
      return "failed";
  }
  return "?";
}

struct Study::Db {
  std::unique_ptr<StudyStore> store;

  std::vector<Trial> trials() const {
    std::vector<Trial> out;
    for (const auto& row :
         store->query(fmt::format("SELECT {} FROM convkit_trials ORDER BY number", kColumns)))
      out.push_back(trial_of(row));
    return out;
  }
  std::optional<Trial> trial(int number) const {
    const auto rows =
        store->query(fmt::format("SELECT {} FROM convkit_trials WHERE number = $1", kColumns),
                     {std::to_string(number)});
    if (rows.empty()) return std::nullopt;
    return trial_of(rows[0]);
  }

  // A transaction that rolls back unless committed.
  struct Transaction {
    StudyStore& store;
    bool done = false;
    explicit Transaction(StudyStore& s) : store(s) { store.begin_exclusive(); }
    void commit() {
      store.commit();
      done = true;
    }
    ~Transaction() {
      if (!done) store.rollback();
    }
  };
};

Study::Study(std::unique_ptr<Db> db) : db_(std::move(db)) {}
Study::Study(Study&&) noexcept = default;
Study& Study::operator=(Study&&) noexcept = default;
Study::~Study() = default;

namespace {

std::unique_ptr<StudyStore> connect(const std::string& where, bool create) {
  return is_postgres_url(where) ? open_postgres_store(where) : open_sqlite_store(where, create);
}

}  // namespace

Study Study::create(const std::string& where, const std::string& spec_text) {
  auto db = std::make_unique<Db>();
  db->store = connect(where, true);
  StudyStore& s = *db->store;
  if (s.has_tables())
    throw run::ConfigError(
        fmt::format("study {}: a study is there already (continue it with --resume)", s.where()));
  const std::string real = s.real_type();
  s.execute("BEGIN");
  try {
    s.execute("CREATE TABLE convkit_study (key TEXT PRIMARY KEY, value TEXT NOT NULL)");
    s.execute(
        "CREATE TABLE convkit_trials (number INTEGER PRIMARY KEY, state TEXT NOT NULL, params "
        "TEXT NOT NULL, executions TEXT NOT NULL DEFAULT '[]', value " +
        real + ", owner TEXT, started " + real + ", finished " + real + ", heartbeat " + real +
        ", seconds " + real +
        " NOT NULL DEFAULT 0, error TEXT, target_epochs INTEGER NOT NULL "
        "DEFAULT 0, rung INTEGER NOT NULL DEFAULT -1, rung_values TEXT NOT NULL DEFAULT '{}', "
        "curve TEXT NOT NULL DEFAULT '[]')");
    s.execute(
        "INSERT INTO convkit_study VALUES ('format', 'convkit-study'), ('schema', $1), "
        "('spec', $2), ('created', $3)",
        {std::to_string(kSchemaVersion), spec_text, num(now_seconds())});
    s.commit();
  } catch (...) {
    s.rollback();
    throw;
  }
  return Study(std::move(db));
}

Study Study::open(const std::string& where) {
  auto db = std::make_unique<Db>();
  db->store = connect(where, false);
  StudyStore& s = *db->store;
  if (!s.has_tables())
    throw run::ConfigError(fmt::format("study {}: holds no convkit study", s.where()));
  std::string format, schema;
  for (const auto& row :
       s.query("SELECT key, value FROM convkit_study WHERE key IN ('format', 'schema')"))
    (row[0] == "format" ? format : schema) = row[1].value_or("");
  if (format != "convkit-study")
    throw run::ConfigError(fmt::format("study {}: not a convkit study", s.where()));
  if (schema != std::to_string(kSchemaVersion))
    throw run::ConfigError(
        fmt::format("study {}: schema {} (this convkit reads {}): a newer convkit wrote it",
                    s.where(), schema, kSchemaVersion));
  return Study(std::move(db));
}

const std::string& Study::where() const {
  return db_->store->where();
}

std::string Study::spec_text() const {
  const auto rows = db_->store->query("SELECT value FROM convkit_study WHERE key = 'spec'");
  return rows.empty() ? "" : rows[0][0].value_or("");
}

std::vector<Trial> Study::trials() const {
  return db_->trials();
}

std::optional<Trial> Study::claim(const std::string& owner, const Decider& decide,
                                  double stale_seconds) {
  StudyStore& s = *db_->store;
  Db::Transaction t(s);
  const std::vector<Trial> all = db_->trials();
  const double now = now_seconds();
  const auto take = [&](const Trial& trial, int target_epochs) {
    s.execute(
        "UPDATE convkit_trials SET state = 'running', owner = $1, heartbeat = $2, "
        "target_epochs = $3 WHERE number = $4",
        {owner, num(now), std::to_string(target_epochs), std::to_string(trial.number)});
    t.commit();
    Trial taken = trial;
    taken.state = TrialState::Running;
    taken.owner = owner;
    taken.heartbeat = now;
    taken.target_epochs = target_epochs;
    return taken;
  };
  for (const auto& trial : all) {
    if (trial.state != TrialState::Running || trial.owner == owner) continue;
    if (!owner_gone_here(trial.owner) && now - trial.heartbeat < stale_seconds) continue;
    return take(trial, trial.target_epochs);  // its worker is gone
  }
  const int next = all.empty() ? 0 : all.back().number + 1;
  const Decision d = decide(all, next);
  if (d.take >= 0) {
    const auto it =
        std::find_if(all.begin(), all.end(), [&](const Trial& x) { return x.number == d.take; });
    if (it == all.end() || it->state != TrialState::Paused)
      throw Error(fmt::format("tune: trial {} is not paused and cannot be continued", d.take));
    return take(*it, d.target_epochs);
  }
  if (!d.create) return std::nullopt;
  Trial fresh;
  fresh.number = next;
  fresh.params = *d.create;
  fresh.owner = owner;
  fresh.started = fresh.heartbeat = now;
  fresh.target_epochs = d.target_epochs;
  nlohmann::json params = nlohmann::json::object();
  for (const auto& [k, v] : fresh.params) params[k] = v;
  s.execute(
      "INSERT INTO convkit_trials (number, state, params, owner, started, heartbeat, "
      "target_epochs) VALUES ($1, 'running', $2, $3, $4, $4, $5)",
      {std::to_string(fresh.number), params.dump(), owner, num(now),
       std::to_string(d.target_epochs)});
  t.commit();
  return fresh;
}

std::optional<Trial> Study::claim(const std::string& owner, int max_trials, bool may_start,
                                  const Proposer& propose, double stale_seconds) {
  return claim(
      owner,
      [&](const std::vector<Trial>& all, int next) {
        Decision d;
        if (may_start && int(all.size()) < max_trials) d.create = propose(all, next);
        return d;
      },
      stale_seconds);
}

void Study::add_execution(int number, double objective, double seconds) {
  Db::Transaction t(*db_->store);
  const auto trial = db_->trial(number);
  if (!trial) throw Error(fmt::format("tune: trial {} is missing", number));
  std::vector<double> list = trial->executions;
  list.push_back(objective);
  db_->store->execute(
      "UPDATE convkit_trials SET executions = $1, seconds = seconds + $2, heartbeat = $3 WHERE "
      "number = $4",
      {nlohmann::json(list).dump(), num(seconds), num(now_seconds()), std::to_string(number)});
  t.commit();
}

void Study::set_curve(int number, const std::vector<double>& curve) {
  db_->store->execute("UPDATE convkit_trials SET curve = $1, heartbeat = $2 WHERE number = $3",
                      {nlohmann::json(curve).dump(), num(now_seconds()), std::to_string(number)});
}

void Study::complete(int number, double value) {
  db_->store->execute(
      "UPDATE convkit_trials SET state = 'complete', value = $1, finished = $2 WHERE number = $3",
      {num(value), num(now_seconds()), std::to_string(number)});
}

void Study::pause(int number, int rung, double value, double seconds) {
  Db::Transaction t(*db_->store);
  const auto trial = db_->trial(number);
  if (!trial) throw Error(fmt::format("tune: trial {} is missing", number));
  nlohmann::json rungs = nlohmann::json::object();
  for (const auto& [k, v] : trial->rung_values) rungs[std::to_string(k)] = v;
  rungs[std::to_string(rung)] = value;
  db_->store->execute(
      "UPDATE convkit_trials SET state = 'paused', rung = $1, rung_values = $2, value = $3, "
      "seconds = seconds + $4, owner = '', finished = $5 WHERE number = $6",
      {std::to_string(rung), rungs.dump(), num(value), num(seconds), num(now_seconds()),
       std::to_string(number)});
  t.commit();
}

void Study::prune(int number, double value, double seconds) {
  db_->store->execute(
      "UPDATE convkit_trials SET state = 'pruned', value = $1, finished = $2, seconds = seconds "
      "+ $3 WHERE number = $4",
      {num(value), num(now_seconds()), num(seconds), std::to_string(number)});
}

void Study::fail(int number, const std::string& error) {
  db_->store->execute(
      "UPDATE convkit_trials SET state = 'failed', error = $1, finished = $2 WHERE number = $3",
      {error, num(now_seconds()), std::to_string(number)});
}

void Study::heartbeat(const std::string& owner) {
  db_->store->execute(
      "UPDATE convkit_trials SET heartbeat = $1 WHERE owner = $2 AND state = 'running'",
      {num(now_seconds()), owner});
}

std::string Study::owner_of_this_process() {
  std::random_device rd;
  return fmt::format("{}:{}:{:08x}", host_name(), ::getpid(), rd());
}

}  // namespace convkit::tune
