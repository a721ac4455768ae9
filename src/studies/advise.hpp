// `homeostat advise CONFIG [--set k=v ...] [--apply OUT.toml]`: the stability-based advisor
// (homeostasis/advisor.hpp). Prints, per LIF/ALIF layer, the configured and advised values of
// conditions I-IV and the measured initial firing rate of both; with --apply, writes the config
// with the advice applied (name suffixed "_advised") to OUT.toml.
#pragma once

#include <string>
#include <vector>

namespace homeostat {

// Returns the exit code (0). Errors propagate as the usual exceptions: ConfigError for an
// unreadable or invalid config or one without LIF/ALIF layers, DataError for missing training
// data, Error when OUT.toml cannot be written.
int run_advise(const std::string& config_path, const std::vector<std::string>& overrides,
               const std::string& apply_path);

}  // namespace homeostat
