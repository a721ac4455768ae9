// Seed 002's network (papers.md section 2): Poisson stimulus -> recurrent excitatory (E) and
// inhibitory (I) current-based LIF populations with membrane noise; S -> E and E -> E learn by
// seed 002's rule dw = eta (x_pre - x_tar)(w_max - w)^mu (stdp_rule.hpp), E -> I and I -> E are
// static. Optional sleep phases (sleep_phase.hpp). After training, frozen passes record spike
// counts of E for a linear readout (linear_readout.hpp): accuracy on the test images.
#pragma once

#include <cstddef>
#include <functional>
#include <span>
#include <vector>

#include "data/dataset.hpp"
#include "plasticity/simulation_config.hpp"
#include "plasticity/simulator.hpp"
#include "plasticity/sleep_phase.hpp"

namespace homeostat {

// Average-pools square images by `factor` (28x28 / 2 -> 14x14); pixels stay in [0, 1].
Dataset downsample_images(const Dataset& data, std::size_t factor);

class RecurrentNetwork {
 public:
  RecurrentNetwork(const SimulationConfig& config, std::size_t input_size);

  // Shows one image (pixels in [0, 1]) for presentation_ms, then rest_ms without input; counts()
  // then holds each excitatory neuron's spikes during the presentation.
  void present(std::span<const float> pixels);
  [[nodiscard]] const std::vector<double>& counts() const { return counts_; }
  // Training (STDP on) or frozen.
  void set_learning(bool on) { sim_.plastic = on; }
  // After each training image: the sleep episode that is due (SleepPhase::after_image).
  void after_image(std::size_t images_seen);

  // sum |w| of the plastic projections (S -> E, E -> E), now and before training.
  [[nodiscard]] double plastic_weight_sum();
  [[nodiscard]] double initial_plastic_weight_sum() const { return sleep_.initial_sum(); }
  [[nodiscard]] double input_weight_sum() const;
  [[nodiscard]] double recurrent_weight_sum() const;
  [[nodiscard]] std::size_t slept_steps() const { return sleep_.slept_steps(); }
  // The plastic weights, S -> E then E -> E.
  [[nodiscard]] std::vector<float> plastic_weights() const;
  // The share of the plastic weights at their STDP bounds (within 1e-6 of the range).
  [[nodiscard]] double fraction_at_bounds() const;
  [[nodiscard]] std::size_t excitatory_count() const { return counts_.size(); }

 private:
  const SimulationConfig& config_;
  Simulator sim_;
  std::size_t stimulus_;
  std::size_t excitatory_;
  std::size_t inhibitory_;
  std::size_t input_projection_;      // S -> E
  std::size_t recurrent_projection_;  // E -> E
  std::size_t excitatory_to_inhibitory_;
  std::size_t inhibitory_to_excitatory_;
  SleepPhase sleep_;
  std::size_t presentation_steps_;
  std::size_t rest_steps_;
  std::vector<float> rates_;
  std::vector<double> counts_;
};

// One training image as the training loop saw it, for the driver's records and progress line.
struct RecurrentImage {
  std::size_t epoch = 0;  // 0-based
  std::size_t done = 0;   // images trained so far, this one included
  std::span<const double> counts;
};

// Trains `net` (STDP on, sleep as configured) on the first config.train_images of `train` for
// config.epochs (image_order), calling `on_image` after every image (and its sleep).
void train_recurrent(RecurrentNetwork& net, const SimulationConfig& config, const Dataset& train,
                     const std::function<void(const RecurrentImage&)>& on_image);

struct RecurrentEvaluation {
  double readout_train_accuracy = 0.0;
  double test_accuracy = 0.0;
  std::vector<std::size_t> test_predictions;
};

// Frozen passes (STDP off) over the first config.label_images of `train` and the first
// config.test_images of `test`: the linear readout fitted on the first's spike counts, tested on
// the second's.
RecurrentEvaluation evaluate_recurrent(RecurrentNetwork& net, const SimulationConfig& config,
                                       const Dataset& train, const Dataset& test);

}  // namespace homeostat
