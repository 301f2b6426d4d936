// The rank and size a launcher put in the environment (see include/convkit/dist/process_group.h).
#include <convkit/dist/process_group.h>
#include <convkit/util/error.h>

#include <charconv>
#include <cstdlib>
#include <optional>
#include <string_view>

namespace convkit::dist {

namespace {

std::optional<int> env_int(const char* name) {
  const char* text = std::getenv(name);
  if (!text) return std::nullopt;
  const std::string_view s(text);
  int value = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (ec != std::errc() || end != s.data() + s.size() || value < 0)
    fail("environment variable {}=\"{}\": expected a non-negative integer", name, s);
  return value;
}

struct Names {
  const char* launcher;
  const char* rank;
  const char* size;
  const char* local_rank;
  const char* local_size;
};

// In order of precedence: what mpirun sets, then PMIx/PMI, then Slurm's srun.
constexpr Names kLaunchers[] = {
    {"mpirun", "OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE", "OMPI_COMM_WORLD_LOCAL_RANK",
     "OMPI_COMM_WORLD_LOCAL_SIZE"},
    {"pmix", "PMIX_RANK", "OMPI_COMM_WORLD_SIZE", "OMPI_COMM_WORLD_LOCAL_RANK",
     "OMPI_COMM_WORLD_LOCAL_SIZE"},
    {"pmi", "PMI_RANK", "PMI_SIZE", "MPI_LOCALRANKID", "MPI_LOCALNRANKS"},
    {"slurm", "SLURM_PROCID", "SLURM_NTASKS", "SLURM_LOCALID", "SLURM_NTASKS_PER_NODE"},
};

}  // namespace

LaunchInfo launch_from_environment() {
  for (const Names& n : kLaunchers) {
    const auto rank = env_int(n.rank), size = env_int(n.size);
    if (!rank || !size) continue;
    LaunchInfo info{.rank = *rank, .size = *size, .launcher = n.launcher};
    if (info.size < 1 || info.rank >= info.size)
      fail("environment: {}={} and {}={}: the rank must be below the size", n.rank, info.rank,
           n.size, info.size);
    // Slurm's tasks-per-node may read "2(x3)"; only a plain number is taken.
    std::optional<int> local_rank, local_size;
    try {
      local_rank = env_int(n.local_rank);
      local_size = env_int(n.local_size);
    } catch (const Error&) {
      local_rank = local_size = std::nullopt;
    }
    info.local_rank = local_rank.value_or(0);
    info.local_size = std::max(local_size.value_or(1), info.local_rank + 1);
    return info;
  }
  return {};
}

}  // namespace convkit::dist
