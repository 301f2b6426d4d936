// `convkit train --nproc N`: runs this same command as N data-parallel ranks on this host, by
// handing it to mpirun (OpenMPI), which starts the ranks, sets their rank in the environment
// and ends the whole job when one rank fails.
#include "commands.h"

#include <convkit/dist/process_group.h>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <unistd.h>
#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

namespace convkit::app {

namespace {
std::vector<std::string> g_command_line;
}

void set_command_line(int argc, char** argv) {
  g_command_line.assign(argv, argv + argc);
}

const std::vector<std::string>& command_line() {
  return g_command_line;
}

void run_local_ranks(int ranks) {
  if (convkit::dist::launch_from_environment().size > 1)
    throw ConfigError(
        "--nproc: this process is already one rank of a job (started by mpirun or srun); give "
        "the number of ranks to the launcher only");
  // This program again, without --nproc.
  std::vector<std::string> args = {"mpirun",          "-np",       std::to_string(ranks),
                                   "--oversubscribe", "--bind-to", "none"};
  if (geteuid() == 0) args.push_back("--allow-run-as-root");  // OpenMPI refuses root otherwise
  char self[4096];
  const ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  args.push_back(n > 0 ? std::string(self, std::size_t(n)) : command_line().at(0));
  const std::vector<std::string>& original = command_line();
  for (std::size_t i = 1; i < original.size(); ++i) {
    if (original[i] == "--nproc") {
      ++i;
      continue;
    }
    if (original[i].rfind("--nproc=", 0) == 0) continue;
    args.push_back(original[i]);
  }
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::fflush(stdout);
  execvp("mpirun", argv.data());
  throw ConfigError(
      fmt::format("--nproc {}: cannot run mpirun ({}); install OpenMPI (Debian: openmpi-bin, which "
                  "scripts/setup installs) or launch the ranks yourself: {}",
                  ranks, std::strerror(errno), fmt::join(args, " ")));
}

}  // namespace convkit::app
