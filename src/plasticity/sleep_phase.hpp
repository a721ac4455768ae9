// Sleep phases for STDP networks (papers.md section 2, seed 002), on the one implementation in
// homeostasis/sleep.hpp (trigger logic, the decay |w| <- w_tgt (|w| / w_tgt)^lambda per step).
// During an episode the inputs are silenced, membrane noise (noise_mv) drives spontaneous
// activity, STDP keeps running, and the plastic projections' weights decay toward their
// baseline w_tgt (SleepParams::target, or each projection's initial mean |w|). The decay is
// applied every kDecayEvery steps with the exponent lambda^kDecayEvery (the same compounded
// decay, in fewer passes over the weights).
#pragma once

#include <cstddef>
#include <vector>

#include "homeostasis/sleep.hpp"
#include "plasticity/simulator.hpp"

namespace homeostat {

class SleepPhase {
 public:
  static constexpr std::size_t kDecayEvery = 25;

  // projections: those that decay; inputs: populations silenced; noisy: populations whose
  // membrane noise is raised to noise_mv while asleep.
  SleepPhase(const SleepParams& params, double noise_mv, std::vector<std::size_t> projections,
             std::vector<std::size_t> inputs, std::vector<std::size_t> noisy, Simulator& sim);

  // Call after each training image: runs the episode that is due (schedule every
  // params.interval images, or the weight-sum trigger). Returns the sleep steps run.
  std::size_t after_image(Simulator& sim, std::size_t images_seen, std::size_t steps_per_image);
  // Runs `steps` sleep steps now.
  void sleep(Simulator& sim, std::size_t steps);

  [[nodiscard]] double weight_sum(Simulator& sim) const;  // sum |w| of the projections
  [[nodiscard]] double initial_sum() const { return initial_sum_; }
  [[nodiscard]] std::size_t slept_steps() const { return slept_steps_; }
  [[nodiscard]] std::size_t episodes() const { return episodes_; }
  [[nodiscard]] const std::vector<double>& targets() const { return targets_; }

 private:
  SleepParams params_;
  double noise_mv_;
  std::vector<std::size_t> projections_;
  std::vector<std::size_t> inputs_;
  std::vector<std::size_t> noisy_;
  std::vector<double> targets_;
  std::vector<double> wake_noise_;
  double initial_sum_ = 0.0;
  std::size_t slept_steps_ = 0;
  std::size_t episodes_ = 0;
};

}  // namespace homeostat
