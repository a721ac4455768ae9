#include "common/system_memory.hpp"

#include <unistd.h>

#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "common/error.hpp"

namespace homeostat {
namespace {

constexpr const char* kVariable = "HOMEOSTAT_MEMORY_LIMIT";

std::optional<std::uint64_t> mem_available() {
  std::ifstream in("/proc/meminfo");
  std::string line;
  while (std::getline(in, line)) {
    if (!line.starts_with("MemAvailable:")) continue;
    std::istringstream fields(line.substr(13));
    std::uint64_t kib = 0;
    if (fields >> kib) return kib * 1024;
  }
  const long pages = ::sysconf(_SC_AVPHYS_PAGES);
  const long page_size = ::sysconf(_SC_PAGESIZE);
  if (pages > 0 && page_size > 0) {
    return static_cast<std::uint64_t>(pages) * static_cast<std::uint64_t>(page_size);
  }
  return std::nullopt;
}

std::uint64_t parse_limit(const std::string& text) {
  std::size_t used = 0;
  double value = -1.0;
  try {
    value = std::stod(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  std::string suffix = text.substr(used);
  double scale = 1.0;
  if (suffix.size() == 1) {
    switch (std::toupper(static_cast<unsigned char>(suffix[0]))) {
      case 'K':
        scale = 1024.0;
        break;
      case 'M':
        scale = 1024.0 * 1024.0;
        break;
      case 'G':
        scale = 1024.0 * 1024.0 * 1024.0;
        break;
      case 'T':
        scale = 1024.0 * 1024.0 * 1024.0 * 1024.0;
        break;
      default:
        scale = 0.0;
    }
    suffix.clear();
  }
  if (used == 0 || !suffix.empty() || scale == 0.0 || !(value > 0.0) || value * scale > 1.8e19) {
    throw ConfigError(std::string(kVariable) + "='" + text +
                      "' is not a memory size (bytes with an optional K, M, G or T suffix, e.g. "
                      "16G; or 'off')");
  }
  return static_cast<std::uint64_t>(value * scale);
}

}  // namespace

std::optional<MemoryLimit> memory_limit() {
  if (const char* set = std::getenv(kVariable); set && *set) {
    const std::string text = set;
    if (text == "off") return std::nullopt;
    return MemoryLimit{parse_limit(text), std::string("$") + kVariable};
  }
  if (const auto available = mem_available()) {
    return MemoryLimit{*available, "the memory available now (MemAvailable; $" +
                                       std::string(kVariable) + " overrides it)"};
  }
  return std::nullopt;
}

std::string format_bytes(double bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  std::size_t unit = 0;
  while (bytes >= 1024.0 && unit + 1 < std::size(units)) {
    bytes /= 1024.0;
    ++unit;
  }
  char text[48];
  std::snprintf(text, sizeof text, unit == 0 ? "%.0f %s" : "%.1f %s", bytes, units[unit]);
  return text;
}

}  // namespace homeostat
