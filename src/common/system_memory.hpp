// How much memory a run may plan to use: $HOMEOSTAT_MEMORY_LIMIT when set, else what the machine
// has available now (/proc/meminfo MemAvailable, or sysconf's available pages).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace homeostat {

struct MemoryLimit {
  std::uint64_t bytes = 0;
  std::string source;  // where the number comes from, for messages
};

// nullopt: no limit is known, or HOMEOSTAT_MEMORY_LIMIT is "off". The variable takes bytes with
// an optional K, M, G or T suffix (powers of 1024), e.g. "512M" or "16G"; a value it cannot read
// is a ConfigError.
std::optional<MemoryLimit> memory_limit();

// "1.5 GiB", "300 MiB", ...
std::string format_bytes(double bytes);

}  // namespace homeostat
