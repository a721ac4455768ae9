// The config of `homeostat simulate` (plasticity/simulation_config.hpp) from TOML, with the same
// reader, --set overrides and error conventions as `train` (ConfigError naming key and line).
// Key reference: README.md ("Local learning").
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "config/config_reader.hpp"
#include "plasticity/simulation_config.hpp"

namespace homeostat {

// Reads a simulation config file, applies the --set overrides ("key=value") in order, and parses
// it. ConfigError naming the key and line for anything that cannot be run.
SimulationConfig load_simulation(const std::filesystem::path& path,
                                 const std::vector<std::string>& overrides);
// Parses a loaded document (defaults per protocol; unknown keys rejected).
SimulationConfig parse_simulation(const ConfigDocument& document);

}  // namespace homeostat
