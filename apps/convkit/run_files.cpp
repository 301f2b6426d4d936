// Run-directory file helpers (see run_files.h).
#include "run_files.h"

#include <convkit/util/error.h>

#include <nlohmann/json.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace convkit::app {

void write_text_atomic(const std::filesystem::path& path, const std::string& text) {
  const auto tmp = path.string() + ".tmp." + std::to_string(getpid());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) fail("{}: cannot write ({})", path.string(), std::strerror(errno));
  std::size_t done = 0;
  while (done < text.size()) {
    ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int err = errno;
      ::close(fd);
      ::unlink(tmp.c_str());
      fail("{}: write failed ({})", path.string(), std::strerror(err));
    }
    done += std::size_t(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    ::unlink(tmp.c_str());
    fail("{}: cannot flush to disk ({})", path.string(), std::strerror(errno));
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    fail("{}: cannot rename into place ({})", path.string(), std::strerror(err));
  }
}

std::string run_info_to_json(const RunInfo& info) {
  nlohmann::json j;
  j["dataset"] = info.dataset;
  j["preprocess"] = {{"mean", info.preprocess.mean}, {"std", info.preprocess.std}};
  j["class_names"] = info.class_names;
  j["config"] = info.config_yaml;
  return j.dump();
}

RunInfo run_info_from_json(const std::string& text, const std::string& source) {
  RunInfo info;
  try {
    auto j = nlohmann::json::parse(text);
    info.dataset = j.at("dataset").get<std::string>();
    info.preprocess.mean = j.at("preprocess").at("mean").get<std::vector<float>>();
    info.preprocess.std = j.at("preprocess").at("std").get<std::vector<float>>();
    info.class_names = j.at("class_names").get<std::vector<std::string>>();
    info.config_yaml = j.value("config", "");
  } catch (const nlohmann::json::exception& e) {
    fail("{}: the checkpoint does not record how its inputs were prepared ({})", source, e.what());
  }
  if (info.preprocess.mean.empty() || info.preprocess.mean.size() != info.preprocess.std.size())
    fail("{}: invalid preprocessing record (mean/std sizes {} and {})", source, info.preprocess.mean.size(),
         info.preprocess.std.size());
  for (float s : info.preprocess.std)
    if (!(s > 0)) fail("{}: invalid preprocessing record (std {})", source, s);
  return info;
}

}  // namespace convkit::app
