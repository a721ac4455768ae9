// W4, unsupervised competitive STDP (Diehl & Cook 2015): Poisson-coded images -> excitatory
// conductance LIF neurons with adaptive thresholds, lateral inhibition through a one-to-one
// inhibitory population (or direct E -> E inhibition), pair STDP on the input weights with
// per-neuron normalization before every presentation. Each image is shown for presentation_ms
// and followed by rest_ms without input; an image that draws fewer than min_spikes excitatory
// spikes is shown again with the white rate raised by intensity_step_hz. After training, a frozen
// pass (no STDP, theta fixed) over label_images training images assigns each neuron a class, and
// a frozen pass over the test images measures accuracy.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <span>
#include <vector>

#include "data/dataset.hpp"
#include "config/simulation_config.hpp"
#include "plasticity/simulator.hpp"

namespace homeostat {

class DiehlCookNetwork {
 public:
  DiehlCookNetwork(const SimulationConfig& config, std::size_t input_size);

  // Shows one image (pixels in [0, 1]); `counts` receives each excitatory neuron's spikes during
  // the accepted presentation. Returns the number of presentations used (1 + retries).
  std::size_t present(std::span<const float> pixels, std::span<std::uint32_t> counts);
  // Training (STDP and theta on) or frozen evaluation.
  void set_learning(bool on);
  // Restarts from `trained`'s state (see Simulator::restart_from) at step `step`.
  // With config.frozen_from_rest the neurons then start at rest.
  void restart_from(const DiehlCookNetwork& trained, std::uint64_t step);
  // Steps one image may take at most (all presentations with their rests).
  [[nodiscard]] std::uint64_t steps_per_image() const;
  // The learned state (input weights, pre-major [inputs, excitatory], and thetas in mV) as a
  // checkpoint file (io/checkpoint.hpp; header kind "diehl_cook"), written atomically.
  void save_state(const std::filesystem::path& path);
  // Reads save_state's file; DataError if it is missing, corrupt or of another shape.
  void load_state(const std::filesystem::path& path);

  Simulator& simulator() { return sim_; }
  [[nodiscard]] std::size_t excitatory() const { return exc_; }
  [[nodiscard]] std::size_t input_projection() const { return input_projection_; }

 private:
  const SimulationConfig& config_;
  Simulator sim_;
  std::size_t input_ = 0;
  std::size_t exc_ = 0;
  std::size_t input_projection_ = 0;
  std::size_t presentation_steps_;
  std::size_t frozen_presentation_steps_;  // label/test passes
  std::size_t rest_steps_;
  std::vector<float> rates_;
};

struct SimulationOptions {
  bool progress = true;
  bool write_run = true;  // runs/<name>/{config.toml,metrics.jsonl}
};

struct SimulationResult {
  std::filesystem::path run_directory;
  double test_accuracy = 0.0;
  double test_accuracy_proportion = 0.0;  // W4: the proportion-weighted vote
  double train_seconds = 0.0;
  double train_images_per_second = 0.0;
  std::size_t train_images = 0;
  std::size_t presentations = 0;  // training presentations including retries
  double running_train_accuracy = 0.0;
  std::vector<std::size_t> neurons_per_class;
  std::vector<float> final_weights;  // input -> excitatory, for determinism checks
  std::vector<std::size_t> test_predictions;
  // seed 002 (recurrent protocol)
  std::vector<double> weight_sum_trajectory;
  double fraction_at_bounds = 0.0;
  std::size_t sleep_steps = 0;
};

SimulationResult run_diehl_cook(const SimulationConfig& config, const Dataset& train,
                                const Dataset& test, const SimulationOptions& options);

}  // namespace homeostat
