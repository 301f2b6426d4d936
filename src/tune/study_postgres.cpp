// The study in PostgreSQL (libpq): the tables in the URL's database; a claim's transaction locks
// the trials table (EXCLUSIVE: readers go on, other claims wait, at most 30 s).
#include <convkit/run/errors.h>

#include "tune/study_store.h"

#include <fmt/format.h>
#include <libpq-fe.h>

#include <regex>

namespace convkit::tune {

namespace {

// The URL without its password, for messages.
std::string shown(const std::string& url) {
  return std::regex_replace(url, std::regex("(://[^:/@]+):[^@]*@"), "$1:***@");
}

class PostgresStore final : public StudyStore {
 public:
  explicit PostgresStore(const std::string& url) : where_(shown(url)) {
    conn_ = PQconnectdb(url.c_str());
    try {  // a throwing constructor runs no destructor: close the connection here
      if (PQstatus(conn_) != CONNECTION_OK) fail("connecting");
      execute("SET client_min_messages = warning");
      execute("SET lock_timeout = '30s'");
    } catch (...) {
      PQfinish(conn_);
      throw;
    }
  }
  ~PostgresStore() override { PQfinish(conn_); }

  const std::string& where() const override { return where_; }

  std::vector<Row> query(const std::string& sql,
                         const std::vector<std::string>& params = {}) override {
    std::vector<const char*> values;
    for (const auto& p : params) values.push_back(p.c_str());
    PGresult* r = PQexecParams(conn_, sql.c_str(), int(values.size()), nullptr, values.data(),
                               nullptr, nullptr, 0);
    std::unique_ptr<PGresult, void (*)(PGresult*)> guard(r, PQclear);
    const auto status = PQresultStatus(r);
    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK)
      fail(fmt::format("running {}", sql.substr(0, sql.find(' ', 12))), r);
    std::vector<Row> rows;
    for (int i = 0; i < PQntuples(r); ++i) {
      Row row;
      for (int c = 0; c < PQnfields(r); ++c)
        if (PQgetisnull(r, i, c))
          row.emplace_back();
        else
          row.emplace_back(PQgetvalue(r, i, c));
      rows.push_back(std::move(row));
    }
    return rows;
  }
  void begin_exclusive() override {
    execute("BEGIN");
    execute("LOCK TABLE convkit_trials IN EXCLUSIVE MODE");
  }
  void commit() override { execute("COMMIT"); }
  void rollback() noexcept override { PQclear(PQexec(conn_, "ROLLBACK")); }
  bool has_tables() override {
    return query("SELECT to_regclass('convkit_trials') IS NOT NULL")[0][0] == "t";
  }
  const char* real_type() const override { return "DOUBLE PRECISION"; }

 private:
  [[noreturn]] void fail(const std::string& what, PGresult* r = nullptr) const {
    std::string why = r ? PQresultErrorMessage(r) : PQerrorMessage(conn_);
    while (!why.empty() && (why.back() == '\n' || why.back() == ' ')) why.pop_back();
    throw run::ConfigError(fmt::format("study {}: {}: {}", where_, what, why));
  }

  std::string where_;
  PGconn* conn_ = nullptr;
};

}  // namespace

bool is_postgres_url(const std::string& where) {
  return where.starts_with("postgresql://") || where.starts_with("postgres://");
}

std::unique_ptr<StudyStore> open_postgres_store(const std::string& url) {
  return std::make_unique<PostgresStore>(url);
}

}  // namespace convkit::tune
