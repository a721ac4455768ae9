// When a loop is worth an OpenMP team: below this many element operations the fork/join costs
// more than it saves (and on a loaded machine a waiting team spins), so loops run serially.
#pragma once

#include <cstddef>

namespace homeostat {

inline constexpr std::size_t kMinParallelWork = 1 << 15;

}  // namespace homeostat
