#include "cli/simulate.hpp"

#include <algorithm>
#include <cstdio>

#include "config/simulation_reader.hpp"
#include "data/dataset.hpp"
#include "homeostat/version.hpp"
#include "run/simulate_run.hpp"
#include "tensor/blas.hpp"

namespace homeostat {

int run_simulate(const std::string& config_path, const std::vector<std::string>& overrides,
                 int threads, bool no_progress) {
  const SimulationConfig config = load_simulation(config_path, overrides);
  const int wanted = threads > 0 ? threads : config.threads;
  if (wanted > 0) set_thread_count(wanted);
  const Dataset train = load_idx_split(config.data_directory, "train",
                                       std::max(config.train_images, config.label_images));
  const Dataset test = load_idx_split(config.data_directory, "test", config.test_images);
  if (config.protocol == SimulationProtocol::ncg) {
    std::printf(
        "homeostat %s: simulating '%s' (ncg, %zu neurons per class, T %zu, %zu train images "
        "x %zu epochs)\n",
        HOMEOSTAT_VERSION, config.name.c_str(), config.ncg.per_class, config.ncg.steps,
        std::min(config.train_images, train.size()), config.epochs);
  } else {
    std::printf(
        "homeostat %s: simulating '%s' (%s, %zu excitatory, dt %.3g ms, %zu train images x "
        "%zu epochs, %d threads)\n",
        HOMEOSTAT_VERSION, config.name.c_str(),
        config.protocol == SimulationProtocol::diehl_cook ? "diehl_cook" : "recurrent",
        config.excitatory_count, config.dt, std::min(config.train_images, train.size()),
        config.epochs, thread_count());
  }
  std::fflush(stdout);
  SimulationOptions options;
  options.progress = !no_progress;
  const SimulationResult r = run_simulation(config, train, test, options);
  std::printf("run directory: %s\n", r.run_directory.c_str());
  std::printf(
      "training: %zu images (%zu presentations) in %.1f s: %.1f images/s; running "
      "accuracy %.2f%%\n",
      r.train_images, r.presentations, r.train_seconds, r.train_images_per_second,
      100.0 * r.running_train_accuracy);
  if (!r.neurons_per_class.empty()) {
    std::printf("neurons per class:");
    for (const std::size_t n : r.neurons_per_class) std::printf(" %zu", n);
    std::printf("\n");
  }
  if (!r.weight_sum_trajectory.empty()) {
    std::printf(
        "weight sum (plastic): %.1f -> %.1f (x%.2f); %zu sleep steps; %.3f of weights at "
        "their bounds; readout train accuracy %.2f%%\n",
        r.weight_sum_trajectory.front(), r.weight_sum_trajectory.back(),
        r.weight_sum_trajectory.back() / r.weight_sum_trajectory.front(), r.sleep_steps,
        r.fraction_at_bounds, 100.0 * r.running_train_accuracy);
  }
  std::printf("test accuracy: %.2f%%\n", 100.0 * r.test_accuracy);
  if (config.protocol == SimulationProtocol::diehl_cook)
    std::printf("test accuracy, proportion-weighted vote: %.2f%%\n",
                100.0 * r.test_accuracy_proportion);
  return 0;
}

}  // namespace homeostat
