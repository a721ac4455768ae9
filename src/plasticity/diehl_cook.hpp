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
#include <functional>
#include <optional>
#include <span>
#include <vector>

#include "data/dataset.hpp"
#include "plasticity/label_assignment.hpp"
#include "plasticity/simulation_config.hpp"
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
  // For the frozen passes: learning off, and the input weights normalized once (as before every
  // training presentation), then fixed.
  void freeze();
  // Restarts from `trained`'s state (see Simulator::restart_from) at step `step`.
  // With config.frozen_from_rest the neurons then start at rest.
  void restart_from(const DiehlCookNetwork& trained, std::uint64_t step);
  // Steps one image may take at most (all presentations with their rests).
  [[nodiscard]] std::uint64_t steps_per_image() const;
  // The learned state (input weights, pre-major [inputs, excitatory], and thetas in mV) as a
  // checkpoint file (common/checkpoint.hpp; header kind "diehl_cook"), written atomically.
  void save_state(const std::filesystem::path& path);
  // Reads save_state's file; DataError if it is missing, corrupt or of another shape.
  void load_state(const std::filesystem::path& path);

  Simulator& simulator() { return sim_; }
  [[nodiscard]] std::size_t excitatory() const { return exc_; }  // the population's index
  [[nodiscard]] std::size_t excitatory_count() const { return config_.excitatory_count; }
  [[nodiscard]] std::size_t input_size() const { return rates_.size(); }
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

// Diehl & Cook's running training accuracy: each image is tested (after the first kWarmup) on the
// labels learned from the responses to earlier images (a forgetting window of ~2000 images,
// labels re-assigned every kReassignEvery images) before it is learned from.
class RunningAccuracy {
 public:
  static constexpr std::size_t kWarmup = 500;
  static constexpr std::size_t kReassignEvery = 250;
  static constexpr double kDecay = 0.9995;  // per image: the forgetting window

  RunningAccuracy(std::size_t classes, std::size_t neurons) : labels_(classes, neurons) {}
  // Tests the response of the next image, then learns from it. Returns whether it was predicted
  // right; nothing during the warm-up.
  std::optional<bool> next(std::span<const std::uint32_t> counts, std::size_t label);
  // The share of tested images predicted right (0 before any was tested).
  [[nodiscard]] double accuracy() const;

 private:
  LabelAssignment labels_;
  std::size_t images_ = 0;
  std::size_t tested_ = 0;
  std::size_t correct_ = 0;
};

// One training image as the training loop saw it, for the driver's records and progress line.
struct DiehlCookImage {
  std::size_t epoch = 0;  // 0-based
  std::size_t done = 0;   // images trained so far, this one included
  std::size_t label = 0;
  std::size_t presentations = 0;          // 1 + retries
  std::span<const std::uint32_t> counts;  // excitatory spikes of the accepted presentation
  std::optional<bool> correct;            // RunningAccuracy's test (none during its warm-up)
};

struct DiehlCookTraining {
  std::size_t images = 0;
  std::size_t presentations = 0;  // including retries
  double running_accuracy = 0.0;  // RunningAccuracy's
};

// Trains `net` (STDP and theta on) on the first config.train_images of `train` for config.epochs
// (image_order), calling `on_image` after every image.
DiehlCookTraining train_diehl_cook(DiehlCookNetwork& net, const SimulationConfig& config,
                                   const Dataset& train,
                                   const std::function<void(const DiehlCookImage&)>& on_image);

// Receives the response of one image of a frozen pass, with the image's label.
using ResponseSink = std::function<void(std::span<const std::uint32_t> counts, std::size_t label)>;

struct DiehlCookEvaluation {
  std::size_t label_images = 0;
  std::size_t test_images = 0;
  double test_accuracy = 0.0;
  double test_accuracy_proportion = 0.0;  // the proportion-weighted vote
  std::vector<std::size_t> test_predictions;
  std::vector<std::size_t> neurons_per_class;
  std::size_t label_silent_neurons = 0;
};

// The frozen passes after training (no STDP, theta fixed): labels from the responses to the first
// config.label_images of `train`, then the test on the first config.test_images of `test`. The
// weights are normalized once (as before every training presentation) and then fixed; every image
// starts from the trained state at its own step (Poisson draws are keyed by step), so images are
// independent and run one per thread, with results that do not depend on the thread count
// (config.frozen_sequential: one after the other, each from the state the last one left).
// The sinks (may be empty) receive every label and test response in image order.
DiehlCookEvaluation evaluate_diehl_cook(DiehlCookNetwork& net, const SimulationConfig& config,
                                        const Dataset& train, const Dataset& test,
                                        const ResponseSink& label_responses,
                                        const ResponseSink& test_responses);

}  // namespace homeostat
