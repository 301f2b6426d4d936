// The two kinds of user mistakes a run reports apart from other errors, so a program (the CLI
// maps them to exit codes 2 and 3) can tell "fix your config" from "fix your data":
// ConfigError (a config file, a --set override, a flag) and DataError (a dataset, an image or a
// checkpoint that cannot be read). Both are convkit::Error.
#pragma once

#include <convkit/util/error.h>

#include <fmt/format.h>

#include <utility>

namespace convkit::run {

class ConfigError : public Error {
 public:
  using Error::Error;
};

class DataError : public Error {
 public:
  using Error::Error;
};

template <typename... Args>
[[noreturn]] void config_fail(fmt::format_string<Args...> format, Args&&... args) {
  throw ConfigError(fmt::format(format, std::forward<Args>(args)...));
}

// Runs `f`, turning any other convkit::Error it throws into a DataError with the same message.
template <typename F>
auto as_data_error(F&& f) -> decltype(f()) {
  try {
    return f();
  } catch (const DataError&) {
    throw;
  } catch (const ConfigError&) {
    throw;
  } catch (const Error& e) {
    throw DataError(e.what());
  }
}

}  // namespace convkit::run
