// `homeostat simulate`'s runs: each protocol's driver around its simulation in plasticity/. The
// driver writes the run directory (run_directory.hpp: config.toml, metrics.jsonl with a batch
// record every so many images and a result record, and the protocol's own files: W4's
// network.ckpt and *_responses.bin), prints the progress line, and times the run; the network,
// its training and its evaluation passes are plasticity/'s (diehl_cook.hpp, ncg.hpp,
// recurrent_network.hpp).
#pragma once

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <optional>
#include <vector>

#include "data/dataset.hpp"
#include "plasticity/simulation_config.hpp"
#include "run/run_directory.hpp"

namespace homeostat {

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

// DataError unless `train` and `test` fit one network: neither empty, test images shaped like
// the training images (which size the input population) and test labels among the training
// classes. Every simulation driver checks this before it builds anything.
void check_simulation_data(const Dataset& train, const Dataset& test);

// The protocol config.protocol names, on `train` and `test`.
SimulationResult run_simulation(const SimulationConfig& config, const Dataset& train,
                                const Dataset& test, const SimulationOptions& options);

// W4 (plasticity/diehl_cook.hpp): trains, saves network.ckpt (output.save_state), assigns labels
// and tests in the frozen passes; writes the responses (test_responses.bin, and with
// output.save_responses train_ and label_responses.bin).
SimulationResult run_diehl_cook(const SimulationConfig& config, const Dataset& train,
                                const Dataset& test, const SimulationOptions& options);

// Protocol "ncg" (plasticity/ncg.hpp): trains for config.epochs over config.train_images
// (per-epoch shuffled order), reports the test accuracy after each epoch.
SimulationResult run_ncg(const SimulationConfig& config, const Dataset& train, const Dataset& test,
                         const SimulationOptions& options);

// Seed 002's recurrent network (plasticity/recurrent_network.hpp): trains with its sleep phases,
// recording the plastic weight sum, then fits and tests the linear readout.
SimulationResult run_recurrent(const SimulationConfig& config, const Dataset& train,
                               const Dataset& test, const SimulationOptions& options);

// The run directory of a simulation (config.toml written, metrics.jsonl started); none when
// options.write_run is off.
std::optional<RunDirectory> open_simulation_run(const SimulationConfig& config,
                                                const SimulationOptions& options);

// Seconds since `start`.
double seconds_since(std::chrono::steady_clock::time_point start);

}  // namespace homeostat
