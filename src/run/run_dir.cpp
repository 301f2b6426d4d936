// Run-directory files, the RunInfo record and opening checkpoints (see run_dir.h).
#include <convkit/run/run_dir.h>

#include <convkit/run/config.h>

#include <convkit/run/errors.h>

#include <nlohmann/json.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace convkit::run {

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
  if (!info.data_dir.empty()) j["data_dir"] = info.data_dir;
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
    info.data_dir = j.value("data_dir", "");
    info.preprocess.mean = j.at("preprocess").at("mean").get<std::vector<float>>();
    info.preprocess.std = j.at("preprocess").at("std").get<std::vector<float>>();
    info.class_names = j.at("class_names").get<std::vector<std::string>>();
    info.config_yaml = j.value("config", "");
  } catch (const nlohmann::json::exception& e) {
    fail("{}: the checkpoint does not record how its inputs were prepared ({})", source, e.what());
  }
  if (info.preprocess.mean.empty() || info.preprocess.mean.size() != info.preprocess.std.size())
    fail("{}: invalid preprocessing record (mean/std sizes {} and {})", source,
         info.preprocess.mean.size(), info.preprocess.std.size());
  for (float s : info.preprocess.std)
    if (!(s > 0)) fail("{}: invalid preprocessing record (std {})", source, s);
  return info;
}

std::string read_text(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw DataError(fmt::format("{}: cannot read", path.string()));
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::filesystem::path resolve_checkpoint(const std::filesystem::path& path) {
  namespace fs = std::filesystem;
  if (fs::is_directory(path)) {
    const fs::path best = RunDirectory{path}.best_checkpoint();
    if (!fs::is_regular_file(best))
      throw DataError(fmt::format("{}: no checkpoint; is {} a run directory of `convkit train`?",
                                  best.string(), path.string()));
    return best;
  }
  if (!fs::exists(path))
    throw DataError(fmt::format("{}: no such checkpoint file or run directory", path.string()));
  return path;
}

OpenedCheckpoint open_checkpoint(const std::filesystem::path& checkpoint_or_run_dir) {
  const auto path = resolve_checkpoint(checkpoint_or_run_dir);
  auto loaded = as_data_error([&] { return io::load_checkpoint(path); });
  RunInfo info =
      as_data_error([&] { return run_info_from_json(loaded.contents.extra_json, path.string()); });
  return {path, std::move(loaded), std::move(info)};
}

train::Predictor open_predictor(const std::filesystem::path& checkpoint_or_run_dir,
                                const train::PredictorOptions& options) {
  OpenedCheckpoint opened = open_checkpoint(checkpoint_or_run_dir);
  train::PredictorOptions o = options;
  // Images are resized as training resized them (dataset.resize etc. in the stored config).
  if (!o.geometry && !opened.info.config_yaml.empty()) {
    try {
      const RunConfig cfg = parse_run_config(opened.info.config_yaml, "stored config");
      if (cfg.dataset == "folder" || cfg.dataset == "csv" || cfg.images.resize_given)
        o.geometry = cfg.images.geometry;
    } catch (const ConfigError&) {
      // an older or foreign config: stretch as before
    }
  }
  return train::Predictor(std::move(opened.checkpoint.model), opened.info.preprocess,
                          opened.info.class_names, o);
}

}  // namespace convkit::run
