#include "run/resources.hpp"

#include <array>
#include <cstdlib>
#include <system_error>

namespace homeostat {

std::filesystem::path default_experiments_directory() {
  if (const char* configured = std::getenv("HOMEOSTAT_EXPERIMENTS")) return configured;
  std::error_code error;
  const std::filesystem::path executable = std::filesystem::read_symlink("/proc/self/exe", error);
  if (!error) {
    const std::filesystem::path bin = executable.parent_path();
    const std::array candidates{bin / "share" / "homeostat" / "experiments",
                                bin.parent_path() / "share" / "homeostat" / "experiments"};
    for (const std::filesystem::path& candidate : candidates) {
      if (std::filesystem::is_directory(candidate, error)) return candidate;
    }
  }
  return "experiments";
}

}  // namespace homeostat
