#include "run/simulate_run.hpp"

namespace homeostat {

SimulationResult run_simulation(const SimulationConfig& config, const Dataset& train,
                                const Dataset& test, const SimulationOptions& options) {
  switch (config.protocol) {
    case SimulationProtocol::diehl_cook:
      return run_diehl_cook(config, train, test, options);
    case SimulationProtocol::ncg:
      return run_ncg(config, train, test, options);
    case SimulationProtocol::recurrent:
      break;
  }
  return run_recurrent(config, train, test, options);
}

std::optional<RunDirectory> open_simulation_run(const SimulationConfig& config,
                                                const SimulationOptions& options) {
  if (!options.write_run) return std::nullopt;
  std::optional<RunDirectory> run(std::in_place, config.output_directory, config.name);
  run->write_config(config.resolved_toml);
  run->start_metrics();
  return run;
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace homeostat
