// The study in SQLite: one file in WAL mode with a 30 s busy timeout; BEGIN IMMEDIATE takes the
// write lock before a claim reads the trials.
#include <convkit/run/errors.h>

#include "tune/study_store.h"

#include <fmt/format.h>
#include <sqlite3.h>

#include <filesystem>

namespace convkit::tune {

namespace {

constexpr int kBusyMilliseconds = 30000;

class SqliteStore final : public StudyStore {
 public:
  SqliteStore(std::string file, bool create) : file_(std::move(file)) {
    if (!create && !std::filesystem::exists(file_))
      throw run::ConfigError(fmt::format("study {}: no such file", file_));
    if (create && std::filesystem::exists(file_))
      throw run::ConfigError(fmt::format(
          "study {}: a study is there already (continue it with --resume, or choose another "
          "--out)",
          file_));
    const int flags = SQLITE_OPEN_READWRITE | (create ? SQLITE_OPEN_CREATE : 0);
    try {  // a throwing constructor runs no destructor: close the handle here
      if (sqlite3_open_v2(file_.c_str(), &db_, flags, nullptr) != SQLITE_OK) fail("opening it");
      sqlite3_busy_timeout(db_, kBusyMilliseconds);
      execute("PRAGMA journal_mode=WAL");
    } catch (...) {
      sqlite3_close(db_);
      throw;
    }
  }
  ~SqliteStore() override { sqlite3_close(db_); }

  const std::string& where() const override { return file_; }

  std::vector<Row> query(const std::string& sql,
                         const std::vector<std::string>& params = {}) override {
    sqlite3_stmt* s = nullptr;
    if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &s, nullptr) != SQLITE_OK) fail("reading it");
    std::unique_ptr<sqlite3_stmt, int (*)(sqlite3_stmt*)> guard(s, sqlite3_finalize);
    for (std::size_t i = 0; i < params.size(); ++i)
      if (const int at = sqlite3_bind_parameter_index(s, fmt::format("${}", i + 1).c_str()); at > 0)
        sqlite3_bind_text(s, at, params[i].c_str(), int(params[i].size()), SQLITE_TRANSIENT);
    std::vector<Row> rows;
    for (;;) {
      const int rc = sqlite3_step(s);
      if (rc == SQLITE_DONE) return rows;
      if (rc != SQLITE_ROW) fail("reading or writing it");
      Row row;
      for (int c = 0; c < sqlite3_column_count(s); ++c) {
        switch (sqlite3_column_type(s, c)) {
          case SQLITE_NULL:
            row.emplace_back();
            break;
          case SQLITE_FLOAT:
            row.emplace_back(fmt::format("{:.17g}", sqlite3_column_double(s, c)));
            break;
          default:
            row.emplace_back(reinterpret_cast<const char*>(sqlite3_column_text(s, c)));
        }
      }
      rows.push_back(std::move(row));
    }
  }
  void begin_exclusive() override { execute("BEGIN IMMEDIATE"); }
  void commit() override { execute("COMMIT"); }
  void rollback() noexcept override { sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr); }
  bool has_tables() override {
    return !query("SELECT name FROM sqlite_master WHERE name = 'convkit_trials'").empty();
  }
  const char* real_type() const override { return "REAL"; }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    const int code = db_ ? sqlite3_errcode(db_) : SQLITE_ERROR;
    std::string why = db_ ? sqlite3_errmsg(db_) : "cannot open";
    if (code == SQLITE_BUSY || code == SQLITE_LOCKED)
      why = fmt::format("it stayed locked by another process for {} s", kBusyMilliseconds / 1000);
    else if (code == SQLITE_NOTADB || code == SQLITE_CORRUPT)
      why = "it is not a SQLite database (corrupt, or another kind of file)";
    throw run::ConfigError(fmt::format("study {}: {}: {}", file_, what, why));
  }

  std::string file_;
  sqlite3* db_ = nullptr;
};

}  // namespace

std::unique_ptr<StudyStore> open_sqlite_store(const std::string& file, bool create) {
  return std::make_unique<SqliteStore>(file, create);
}

}  // namespace convkit::tune
