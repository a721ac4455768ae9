// Sleep phases (seed 002, papers.md section 2): during sleep the input is silenced and each
// synapse decays geometrically, in log space, toward a baseline, keeping its sign:
//   |w| <- w_tgt (|w| / w_tgt)^lambda        per sleep step (lambda = 0.99997 in the paper's code)
// so n steps compound to the exponent lambda^n. Zero weights stay zero.
// Episodes start on a schedule (every `interval` batches, round(interval x ratio x T) sleep
// steps: `ratio` is the fraction of simulated time spent asleep) or when the weight sum
// sum|w| exceeds max_factor x its initial value (then sleep lasts until it is back under
// baseline_factor x the initial sum, or max_steps, or once an episode stops lowering the sum).
// One implementation for both paradigms: the free functions below are what the local-learning
// simulator's sleep uses too. In gradient training there is no label-free plasticity to keep
// running during sleep, so a sleep episode reduces to the decay.
#pragma once

#include <algorithm>
#include <cmath>
#include <span>

#include "homeostasis/registry.hpp"

namespace homeostat {

// The decay of n steps: exponent lambda^n.
inline double sleep_exponent(double lambda, double steps) { return std::pow(lambda, steps); }

// One synapse: sign(w) w_tgt (|w| / w_tgt)^exponent (w_tgt > 0).
inline double sleep_decay(double weight, double target, double exponent) {
  if (weight == 0.0) return 0.0;
  const double magnitude = target * std::pow(std::fabs(weight) / target, exponent);
  return weight > 0 ? magnitude : -magnitude;
}

template <typename Real>
void apply_sleep(std::span<Real> weights, double target, double exponent) {
  for (Real& w : weights)
    w = static_cast<Real>(sleep_decay(static_cast<double>(w), target, exponent));
}

template <typename Real>
double absolute_sum(std::span<const Real> weights) {
  // Eight interleaved partial sums in a fixed order: vectorizable (the sum runs every batch)
  // and independent of the thread count.
  constexpr std::size_t kLanes = 8;
  double lanes[kLanes] = {};
  const std::size_t whole = weights.size() / kLanes * kLanes;
  for (std::size_t i = 0; i < whole; i += kLanes) {
    for (std::size_t l = 0; l < kLanes; ++l)
      lanes[l] += std::fabs(static_cast<double>(weights[i + l]));
  }
  double sum = 0.0;
  for (const double lane : lanes) sum += lane;
  for (std::size_t i = whole; i < weights.size(); ++i)
    sum += std::fabs(static_cast<double>(weights[i]));
  return sum;
}

enum class SleepTrigger { schedule, weight_sum };

struct SleepParams {
  SleepTrigger trigger = SleepTrigger::schedule;
  double ratio = 0.1;          // schedule: fraction of time asleep
  std::size_t interval = 100;  // schedule: batches between episodes
  double lambda = 0.99997;     // per-step decay exponent
  double target = 0.0;         // w_tgt; 0: each tensor's initial mean |w| (its baseline)
  double max_factor = 1.5;     // weight_sum: sleep when sum|w| > max_factor x initial
  // weight_sum: ... until sum|w| <= baseline_factor x initial. The decay approaches the initial
  // sum (its fixed point with the default target) only asymptotically, hence > 1.
  double baseline_factor = 1.05;
  std::size_t max_steps = 100000;  // weight_sum: longest episode, in steps
};

// Schedule trigger: the sleep steps due after `units_seen` batches (gradient training) or images
// (local learning), each `steps_per_unit` simulated steps long; 0 when no episode is due.
inline double scheduled_sleep_steps(const SleepParams& params, std::size_t units_seen,
                                    std::size_t steps_per_unit) {
  if (params.trigger != SleepTrigger::schedule || params.ratio <= 0 || params.interval == 0 ||
      units_seen == 0 || units_seen % params.interval != 0)
    return 0.0;
  return std::round(static_cast<double>(params.interval) * params.ratio *
                    static_cast<double>(std::max<std::size_t>(1, steps_per_unit)));
}

template <typename Real>
class Sleep final : public Regulator<Real> {
 public:
  Sleep(std::string kind, std::vector<std::size_t> layers, const SleepParams& params);
  [[nodiscard]] std::vector<RegulatorChannel> channels() const override {
    return {RegulatorChannel::weights};
  }
  void attach(Network<Real>& network) override;
  void after_update(Network<Real>& network, const BatchActivity& activity,
                    const TrainingClock& clock) override;
  [[nodiscard]] nlohmann::json save_state() const override;
  void load_state(const nlohmann::json& state, Network<Real>& network) override;
  [[nodiscard]] nlohmann::json describe() const override;

 private:
  std::vector<Tensor<Real>*> tensors(Network<Real>& network) const;
  // Runs `steps` sleep steps on every tensor; returns the new total sum|w|.
  double sleep(Network<Real>& network, double steps);

  SleepParams params_;
  std::vector<double> targets_;       // per tensor: w_tgt
  std::vector<double> initial_sums_;  // per tensor: sum|w| when attached
  std::size_t batches_seen_ = 0;
  double slept_steps_ = 0.0;
  std::size_t episodes_ = 0;
  double last_sum_ratio_ = 1.0;  // sum|w| / initial, after the last batch
};

// The kinds this file registers (sleep) with the readers of their config keys; listed
// in homeostasis/registry.cpp.
std::vector<RegulatorKind> sleep_kinds();

}  // namespace homeostat
