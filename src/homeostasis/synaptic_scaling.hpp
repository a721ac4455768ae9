// Weight channel: multiplicative synaptic scaling (Turrigiano; van Rossum et al. 2000). Every
// `every` training batches, all synapses onto unit u are multiplied by one factor that moves its
// rate toward the target:
//   w_uj <- w_uj clamp(1 + eta (target - r_u) / target, 1 - max_step, 1 + max_step)
// r_u: the unit's rate over the last batch (a conv unit is a channel: the mean over its
// positions). Relative weights onto a unit are kept; only their common scale changes.
#pragma once

#include "homeostasis/registry.hpp"

namespace homeostat {

struct SynapticScalingParams {
  double target = 0.05;
  double eta = 0.01;
  double max_step = 0.1;
  std::size_t every = 1;  // batches
};

double synaptic_scaling_factor(const SynapticScalingParams& params, double rate);

template <typename Real>
class SynapticScaling final : public Regulator<Real> {
 public:
  SynapticScaling(std::string kind, std::vector<std::size_t> layers,
                  const SynapticScalingParams& params);
  [[nodiscard]] std::vector<RegulatorChannel> channels() const override {
    return {RegulatorChannel::weights};
  }
  void after_update(Network<Real>& network, const BatchActivity& activity,
                    const TrainingClock& clock) override;
  [[nodiscard]] std::optional<std::pair<double, double>> band() const override {
    return std::pair{params_.target, params_.target};
  }

 private:
  SynapticScalingParams params_;
  std::size_t batches_seen_ = 0;
};

// The kinds this file registers (synaptic_scaling) with the readers of their config keys; listed
// in homeostasis/registry.cpp.
std::vector<RegulatorKind> synaptic_scaling_kinds();

}  // namespace homeostat
