// An experiment as a library object: the network a config describes, its regulators and data,
// trained batch by batch or as a whole recorded run, evaluated, and inspected layer by layer.
// The `homeostat` command is a client of the same engine.
#pragma once

#include <cstddef>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "homeostat/config.hpp"

namespace homeostat {

// One layer of the built network.
struct LayerInfo {
  std::string name;
  std::string kind;                     // "dense", "lif", "conv2d", ...
  std::vector<std::size_t> shape;       // per-sample output shape
  bool spiking = false;                 // has spiking neurons (rates, regulators)
  std::vector<std::string> parameters;  // e.g. "fc1.weight", "fc1.bias"
};

// Activity of one spiking layer over the batches seen since the last reset.
struct LayerRates {
  std::string name;
  double rate = 0.0;                // spikes per neuron per step, in [0, 1]
  double dead_fraction = 0.0;       // neurons that never fired
  double saturated_fraction = 0.0;  // neurons that fired in more than 90% of steps
  double threshold_scale = 1.0;     // mean regulator scale of the thresholds
};

// What a call to train_batches() did.
struct TrainingProgress {
  std::size_t batches = 0;        // batches trained by this call
  std::size_t epoch = 0;          // 0-based epoch the next batch belongs to
  double loss = 0.0;              // mean task loss over this call's samples
  double penalty = 0.0;           // mean regulator penalty
  double accuracy = 0.0;          // training accuracy over this call's samples
  std::vector<LayerRates> rates;  // over this call's batches
};

struct Evaluation {
  std::size_t samples = 0;
  double accuracy = 0.0;
  double loss = 0.0;
  double synops_per_sample = 0.0;
  double synaptic_efficiency = 0.0;  // bits of I(prediction; label) per million synops
  std::vector<LayerRates> rates;
};

// The outcome of run(): what `homeostat train` writes to runs/<name>/.
struct RunSummary {
  std::filesystem::path run_directory;
  double test_accuracy = 0.0;
  std::vector<std::string> epoch_records;  // the epoch lines of metrics.jsonl (JSON text)
};

class Experiment {
 public:
  // Validates the config (ConfigError naming the key) and builds the network; the data are
  // loaded on first use (DataError naming the file when they cannot be).
  explicit Experiment(const Config& config);
  ~Experiment();
  Experiment(Experiment&&) noexcept;
  Experiment& operator=(Experiment&&) noexcept;
  Experiment(const Experiment&) = delete;
  Experiment& operator=(const Experiment&) = delete;

  [[nodiscard]] const std::string& name() const;
  [[nodiscard]] std::vector<LayerInfo> layers() const;

  // Trains `batches` more batches of the training set, epoch after epoch, with the regulators
  // acting as in `homeostat train`; DivergenceError when the loss or gradient is not finite.
  TrainingProgress train_batches(std::size_t batches);
  // Evaluates on the test split (the first `limit` samples; 0: the config's test set).
  Evaluation evaluate(std::size_t limit = 0);
  // A whole recorded run, as `homeostat train CONFIG` does it (metrics.jsonl, checkpoints,
  // report.html), from a fresh network built from the same config.
  RunSummary run(bool show_progress = false) const;

  // A parameter's values (e.g. "fc1.weight"), and writing them back (sizes must match).
  [[nodiscard]] std::vector<float> parameter(const std::string& name) const;
  void set_parameter(const std::string& name, std::span<const float> values);

  // Number of threads the engine uses (0: all cores).
  static void set_threads(int threads);

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace homeostat
