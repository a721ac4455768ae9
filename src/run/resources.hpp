// Where the ready configs (experiments/*.toml) are found at run time, so neither the library nor
// the command has a source path compiled in.
#pragma once

#include <filesystem>

namespace homeostat {

// The first of: $HOMEOSTAT_EXPERIMENTS; <dir of the running executable>/share/homeostat/experiments
// (the build tree, which CMake links to the sources' experiments/); <that dir>/../share/homeostat/
// experiments (an installed tree); ./experiments. The last is returned even when it is missing,
// so the error that follows names a path the user can act on.
std::filesystem::path default_experiments_directory();

}  // namespace homeostat
