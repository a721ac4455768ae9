#include "run/simulate_run.hpp"

#include <algorithm>
#include <string>

#include "common/error.hpp"
#include "tensor/tensor.hpp"

namespace homeostat {

void check_simulation_data(const Dataset& train, const Dataset& test) {
  if (train.size() == 0) throw DataError("the training set has no images");
  if (test.size() == 0) throw DataError("the test set has no images");
  if (test.sample_shape != train.sample_shape) {
    throw DataError("the test images have shape " + shape_string(test.sample_shape) +
                    " but the training images " + shape_string(train.sample_shape) +
                    ": the network's input is sized by the training images");
  }
  const std::size_t classes = std::max<std::size_t>(train.num_classes, 2);
  if (test.num_classes > classes) {
    throw DataError("the test labels go up to " + std::to_string(test.num_classes - 1) +
                    " but the training labels only to " + std::to_string(classes - 1));
  }
}

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
