// `homeostat simulate CONFIG`: local learning (STDP) runs with the clock-driven simulator.
#pragma once

#include <string>
#include <vector>

namespace homeostat {

int run_simulate(const std::string& config_path, const std::vector<std::string>& overrides,
                 int threads, bool no_progress);

}  // namespace homeostat
