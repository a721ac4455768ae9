// Runs the `homeostat` binary under test from inside `directory` (relative paths in the
// arguments resolve there) and returns its exit code and stdout + stderr together.
#pragma once

#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace homeostat::testing {

struct CommandResult {
  int exit_code;
  std::string output;
};

inline CommandResult run_homeostat(const std::filesystem::path& directory,
                                   const std::string& arguments) {
  const std::filesystem::path log = directory / "command.log";
  const std::string command = "cd " + directory.string() + " && " +
                              std::string(HOMEOSTAT_BINARY_PATH) + " " + arguments + " > " +
                              log.string() + " 2>&1";
  const int status = std::system(command.c_str());
  std::ifstream in(log);
  std::stringstream text;
  text << in.rdbuf();
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, text.str()};
}

}  // namespace homeostat::testing
