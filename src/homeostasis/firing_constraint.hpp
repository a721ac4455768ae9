// Constraint-channel regulators (seed 000's remedy): hard limits on spike generation, applied
// inside the neuron kernel (neuron/lif.hpp) so forward and backward agree: a suppressed spike
// carries no gradient. They act in training and evaluation alike.
//   refractory:  no spike for `steps` steps after a spike (absolute refractory period)
//   firing_cap:  at most `spikes` spikes per neuron in any window of `window` steps
//   kwta:        per layer, sample and step, only the `winners` neurons with the largest
//                margin v - theta keep their spike
#pragma once

#include "homeostasis/registry.hpp"

namespace homeostat {

struct FiringConstraintParams {
  std::size_t refractory_steps = 0;
  std::size_t cap_spikes = 0;
  std::size_t cap_window = 0;
  std::size_t winners = 0;
  double winners_fraction = 0.0;  // kwta: winners = max(1, round(fraction x N)) when > 0
  // A rate the constraint aims at, for alarms and reports (the spike budget it implies).
  [[nodiscard]] std::optional<double> implied_max_rate(std::size_t neurons) const;
};

template <typename Real>
class FiringConstraint final : public Regulator<Real> {
 public:
  FiringConstraint(std::string kind, std::vector<std::size_t> layers,
                   const FiringConstraintParams& params);
  [[nodiscard]] std::vector<RegulatorChannel> channels() const override {
    return {RegulatorChannel::constraint};
  }
  void attach(Network<Real>& network) override;
  [[nodiscard]] nlohmann::json describe() const override;

 private:
  FiringConstraintParams params_;
};

// The kinds this file registers (refractory, firing_cap, kwta) with the readers of their config
// keys; listed in homeostasis/registry.cpp.
std::vector<RegulatorKind> firing_constraint_kinds();

}  // namespace homeostat
