// StudyStore (internal to tune/): the study's two tables behind a small SQL interface, kept in
// SQLite (a file, WAL mode: one machine, or machines sharing the file) or PostgreSQL (a
// postgresql:// URL: machines sharing a server). SQL is written once with $1, $2, ... numbered in
// order of first use; values travel as text (numbers printed exactly, "{:.17g}") and come back as
// text, NULL as nullopt. Errors are ConfigErrors naming the file or URL.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace convkit::tune {

class StudyStore {
 public:
  using Row = std::vector<std::optional<std::string>>;
  virtual ~StudyStore() = default;
  virtual const std::string& where() const = 0;  // the file or the URL (password hidden)
  virtual std::vector<Row> query(const std::string& sql,
                                 const std::vector<std::string>& params = {}) = 0;
  void execute(const std::string& sql, const std::vector<std::string>& params = {}) {
    query(sql, params);
  }
  // A write transaction that holds the study's lock from its start (claims read, then write).
  virtual void begin_exclusive() = 0;
  virtual void commit() = 0;
  virtual void rollback() noexcept = 0;
  virtual bool has_tables() = 0;
  virtual const char* real_type() const = 0;  // the SQL type of a double
};

bool is_postgres_url(const std::string& where);
// create: a new study (SQLite: the file must not exist); otherwise an existing one.
std::unique_ptr<StudyStore> open_sqlite_store(const std::string& file, bool create);
std::unique_ptr<StudyStore> open_postgres_store(const std::string& url);

}  // namespace convkit::tune
