// The study file: SQLite in WAL mode with a busy timeout, one table of study facts and one of
// trials (parameters and executions as JSON). Claims run under BEGIN IMMEDIATE: the write lock is
// taken before the trials are read, so the decision and the insert see the same state.
#include <convkit/run/errors.h>
#include <convkit/tune/study.h>

#include <fmt/format.h>
#include <signal.h>
#include <sqlite3.h>
#include <unistd.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <random>

namespace convkit::tune {

namespace {

constexpr int kSchemaVersion = 1;
constexpr int kBusyMilliseconds = 30000;

double now_seconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
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
  std::filesystem::path file;
  sqlite3* handle = nullptr;
  ~Db() {
    if (handle) sqlite3_close(handle);
  }

  [[noreturn]] void fail(const std::string& what) const {
    const int code = handle ? sqlite3_errcode(handle) : SQLITE_ERROR;
    std::string why = handle ? sqlite3_errmsg(handle) : "cannot open";
    if (code == SQLITE_BUSY || code == SQLITE_LOCKED)
      why = fmt::format("it stayed locked by another process for {} s", kBusyMilliseconds / 1000);
    else if (code == SQLITE_NOTADB || code == SQLITE_CORRUPT)
      why = "it is not a SQLite database (corrupt, or another kind of file)";
    throw run::ConfigError(fmt::format("study {}: {}: {}", file.string(), what, why));
  }
  void exec(const char* sql, const char* what) const {
    if (sqlite3_exec(handle, sql, nullptr, nullptr, nullptr) != SQLITE_OK) fail(what);
  }

  // A prepared statement with bound values; step() through the rows.
  struct Statement {
    const Db& db;
    sqlite3_stmt* s = nullptr;
    Statement(const Db& d, const char* sql) : db(d) {
      if (sqlite3_prepare_v2(db.handle, sql, -1, &s, nullptr) != SQLITE_OK) db.fail("reading");
    }
    ~Statement() { sqlite3_finalize(s); }
    Statement& bind(int i, const std::string& v) {
      sqlite3_bind_text(s, i, v.c_str(), int(v.size()), SQLITE_TRANSIENT);
      return *this;
    }
    Statement& bind(int i, double v) {
      sqlite3_bind_double(s, i, v);
      return *this;
    }
    Statement& bind(int i, int v) {
      sqlite3_bind_int(s, i, v);
      return *this;
    }
    bool row() {
      const int rc = sqlite3_step(s);
      if (rc == SQLITE_ROW) return true;
      if (rc != SQLITE_DONE) db.fail("reading or writing");
      return false;
    }
    std::string text(int i) const {
      const auto* t = sqlite3_column_text(s, i);
      return t ? reinterpret_cast<const char*>(t) : "";
    }
    double real(int i) const { return sqlite3_column_double(s, i); }
    bool null(int i) const { return sqlite3_column_type(s, i) == SQLITE_NULL; }
  };

  // A transaction that rolls back unless committed.
  struct Transaction {
    const Db& db;
    bool done = false;
    explicit Transaction(const Db& d) : db(d) { db.exec("BEGIN IMMEDIATE", "taking its lock"); }
    void commit() {
      db.exec("COMMIT", "committing");
      done = true;
    }
    ~Transaction() {
      if (!done) sqlite3_exec(db.handle, "ROLLBACK", nullptr, nullptr, nullptr);
    }
  };

  std::vector<Trial> trials() const {
    Statement q(*this,
                "SELECT number, state, params, executions, value, owner, started, finished, "
                "heartbeat, seconds, error, target_epochs, rung, rung_values, curve FROM trials "
                "ORDER BY number");
    std::vector<Trial> out;
    while (q.row()) {
      Trial t;
      t.number = int(q.real(0));
      t.state = parse_state(q.text(1));
      const nlohmann::json params = nlohmann::json::parse(q.text(2));  // outlives items()
      for (const auto& [k, v] : params.items()) t.params[k] = v.get<double>();
      t.executions = nlohmann::json::parse(q.text(3)).get<std::vector<double>>();
      if (!q.null(4)) t.value = q.real(4);
      t.owner = q.text(5);
      t.started = q.real(6);
      t.finished = q.real(7);
      t.heartbeat = q.real(8);
      t.seconds = q.real(9);
      t.error = q.text(10);
      t.target_epochs = int(q.real(11));
      t.rung = int(q.real(12));
      const nlohmann::json rungs = nlohmann::json::parse(q.text(13));
      for (const auto& [k, v] : rungs.items()) t.rung_values[std::stoi(k)] = v.get<double>();
      t.curve = nlohmann::json::parse(q.text(14)).get<std::vector<double>>();
      out.push_back(std::move(t));
    }
    return out;
  }
};

Study::Study(std::unique_ptr<Db> db) : db_(std::move(db)) {}
Study::Study(Study&&) noexcept = default;
Study& Study::operator=(Study&&) noexcept = default;
Study::~Study() = default;

namespace {

// A new study needs a free path; an existing one, its file.
void check_presence(const std::filesystem::path& file, bool create) {
  if (!create && !std::filesystem::exists(file))
    throw run::ConfigError(fmt::format("study {}: no such file", file.string()));
  if (create && std::filesystem::exists(file))
    throw run::ConfigError(fmt::format(
        "study {}: a study is there already (continue it with --resume, or choose another --out)",
        file.string()));
}

}  // namespace

Study Study::create(const std::filesystem::path& file, const std::string& spec_text) {
  check_presence(file, true);
  auto db = std::make_unique<Db>();
  db->file = file;
  if (sqlite3_open_v2(file.c_str(), &db->handle, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
                      nullptr) != SQLITE_OK)
    db->fail("creating it");
  sqlite3_busy_timeout(db->handle, kBusyMilliseconds);
  db->exec("PRAGMA journal_mode=WAL", "switching to WAL mode");
  {
    Db::Transaction t(*db);
    db->exec(
        "CREATE TABLE study (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
        "CREATE TABLE trials (number INTEGER PRIMARY KEY, state TEXT NOT NULL, params TEXT NOT "
        "NULL, executions TEXT NOT NULL DEFAULT '[]', value REAL, owner TEXT, started REAL, "
        "finished REAL, heartbeat REAL, seconds REAL NOT NULL DEFAULT 0, error TEXT, "
        "target_epochs INTEGER NOT NULL DEFAULT 0, rung INTEGER NOT NULL DEFAULT -1, "
        "rung_values TEXT NOT NULL DEFAULT '{}', curve TEXT NOT NULL DEFAULT '[]');",
        "creating its tables");
    Db::Statement(*db,
                  "INSERT INTO study VALUES ('format', 'convkit-study'), ('schema', ?1), "
                  "('spec', ?2), ('created', ?3)")
        .bind(1, std::to_string(kSchemaVersion))
        .bind(2, spec_text)
        .bind(3, fmt::format("{:.3f}", now_seconds()))
        .row();
    t.commit();
  }
  return Study(std::move(db));
}

Study Study::open(const std::filesystem::path& file) {
  check_presence(file, false);
  auto db = std::make_unique<Db>();
  db->file = file;
  if (sqlite3_open_v2(file.c_str(), &db->handle, SQLITE_OPEN_READWRITE, nullptr) != SQLITE_OK)
    db->fail("opening it");
  sqlite3_busy_timeout(db->handle, kBusyMilliseconds);
  db->exec("PRAGMA journal_mode=WAL", "switching to WAL mode");
  std::string format, schema;
  {
    Db::Statement q(*db, "SELECT key, value FROM study WHERE key IN ('format', 'schema')");
    while (q.row()) (q.text(0) == "format" ? format : schema) = q.text(1);
  }
  if (format != "convkit-study")
    throw run::ConfigError(
        fmt::format("study {}: a SQLite file, but not a convkit study", file.string()));
  if (schema != std::to_string(kSchemaVersion))
    throw run::ConfigError(
        fmt::format("study {}: schema {} (this convkit reads {}): a newer convkit wrote it",
                    file.string(), schema, kSchemaVersion));
  return Study(std::move(db));
}

const std::filesystem::path& Study::file() const {
  return db_->file;
}

std::string Study::spec_text() const {
  Db::Statement q(*db_, "SELECT value FROM study WHERE key = 'spec'");
  return q.row() ? q.text(0) : "";
}

std::vector<Trial> Study::trials() const {
  return db_->trials();
}

std::optional<Trial> Study::claim(const std::string& owner, const Decider& decide,
                                  double stale_seconds) {
  Db::Transaction t(*db_);
  const std::vector<Trial> all = db_->trials();
  const double now = now_seconds();
  for (const auto& trial : all) {
    if (trial.state != TrialState::Running || trial.owner == owner) continue;
    if (!owner_gone_here(trial.owner) && now - trial.heartbeat < stale_seconds) continue;
    Db::Statement(*db_, "UPDATE trials SET owner = ?1, heartbeat = ?2 WHERE number = ?3")
        .bind(1, owner)
        .bind(2, now)
        .bind(3, trial.number)
        .row();
    t.commit();
    Trial taken = trial;
    taken.owner = owner;
    taken.heartbeat = now;
    return taken;
  }
  const int next = all.empty() ? 0 : all.back().number + 1;
  const Decision d = decide(all, next);
  if (d.take >= 0) {
    const auto it =
        std::find_if(all.begin(), all.end(), [&](const Trial& x) { return x.number == d.take; });
    if (it == all.end() || it->state != TrialState::Paused)
      throw Error(fmt::format("tune: trial {} is not paused and cannot be continued", d.take));
    Db::Statement(*db_,
                  "UPDATE trials SET state = 'running', owner = ?1, heartbeat = ?2, "
                  "target_epochs = ?3 WHERE number = ?4")
        .bind(1, owner)
        .bind(2, now)
        .bind(3, d.target_epochs)
        .bind(4, d.take)
        .row();
    t.commit();
    Trial taken = *it;
    taken.state = TrialState::Running;
    taken.owner = owner;
    taken.heartbeat = now;
    taken.target_epochs = d.target_epochs;
    return taken;
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
  Db::Statement(*db_,
                "INSERT INTO trials (number, state, params, owner, started, heartbeat, "
                "target_epochs) VALUES (?1, 'running', ?2, ?3, ?4, ?4, ?5)")
      .bind(1, fresh.number)
      .bind(2, params.dump())
      .bind(3, owner)
      .bind(4, now)
      .bind(5, d.target_epochs)
      .row();
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
  Db::Transaction t(*db_);
  Db::Statement q(*db_, "SELECT executions FROM trials WHERE number = ?1");
  q.bind(1, number);
  if (!q.row()) db_->fail(fmt::format("trial {} is missing", number));
  auto list = nlohmann::json::parse(q.text(0));
  list.push_back(objective);
  Db::Statement(*db_,
                "UPDATE trials SET executions = ?1, seconds = seconds + ?2, heartbeat = ?3 WHERE "
                "number = ?4")
      .bind(1, list.dump())
      .bind(2, seconds)
      .bind(3, now_seconds())
      .bind(4, number)
      .row();
  t.commit();
}

void Study::complete(int number, double value) {
  Db::Statement(*db_,
                "UPDATE trials SET state = 'complete', value = ?1, finished = ?2 WHERE number = ?3")
      .bind(1, value)
      .bind(2, now_seconds())
      .bind(3, number)
      .row();
}

void Study::set_curve(int number, const std::vector<double>& curve) {
  Db::Statement(*db_, "UPDATE trials SET curve = ?1, heartbeat = ?2 WHERE number = ?3")
      .bind(1, nlohmann::json(curve).dump())
      .bind(2, now_seconds())
      .bind(3, number)
      .row();
}

void Study::pause(int number, int rung, double value, double seconds) {
  Db::Transaction t(*db_);
  Db::Statement q(*db_, "SELECT rung_values FROM trials WHERE number = ?1");
  q.bind(1, number);
  if (!q.row()) db_->fail(fmt::format("trial {} is missing", number));
  nlohmann::json rungs = nlohmann::json::parse(q.text(0));
  rungs[std::to_string(rung)] = value;
  Db::Statement(*db_,
                "UPDATE trials SET state = 'paused', rung = ?1, rung_values = ?2, value = ?3, "
                "seconds = seconds + ?4, owner = '', finished = ?5 WHERE number = ?6")
      .bind(1, rung)
      .bind(2, rungs.dump())
      .bind(3, value)
      .bind(4, seconds)
      .bind(5, now_seconds())
      .bind(6, number)
      .row();
  t.commit();
}

void Study::prune(int number, double value, double seconds) {
  Db::Statement(*db_,
                "UPDATE trials SET state = 'pruned', value = ?1, finished = ?2, seconds = seconds "
                "+ ?3 WHERE number = ?4")
      .bind(1, value)
      .bind(2, now_seconds())
      .bind(3, seconds)
      .bind(4, number)
      .row();
}

void Study::fail(int number, const std::string& error) {
  Db::Statement(*db_,
                "UPDATE trials SET state = 'failed', error = ?1, finished = ?2 WHERE number = ?3")
      .bind(1, error)
      .bind(2, now_seconds())
      .bind(3, number)
      .row();
}

void Study::heartbeat(const std::string& owner) {
  Db::Statement(*db_, "UPDATE trials SET heartbeat = ?1 WHERE owner = ?2 AND state = 'running'")
      .bind(1, now_seconds())
      .bind(2, owner)
      .row();
}

std::string Study::owner_of_this_process() {
  std::random_device rd;
  return fmt::format("{}:{}:{:08x}", host_name(), ::getpid(), rd());
}

}  // namespace convkit::tune
