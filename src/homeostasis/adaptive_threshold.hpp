// Threshold channel: adaptive threshold / intrinsic plasticity. After every training batch each
// regulated neuron's threshold scale follows its own rate toward the target:
//   s_i <- clamp(s_i + eta (r_i - target), min_scale, max_scale),   theta_i = s_i theta0_i
// (r_i: the neuron's rate over the batch). With theta0 = 1 this is theta_i += eta (r_i - target).
// No gradient flows through s_i; the scales are part of the model (kept in checkpoints).
#pragma once

#include "homeostasis/registry.hpp"

namespace homeostat {

struct AdaptiveThresholdParams {
  double target = 0.05;
  double eta = 0.05;
  double min_scale = 0.1;
  double max_scale = 10.0;
};

// One neuron's update (the equation of the header).
double adaptive_threshold_step(const AdaptiveThresholdParams& params, double scale, double rate);

template <typename Real>
class AdaptiveThreshold final : public Regulator<Real> {
 public:
  AdaptiveThreshold(std::string kind, std::vector<std::size_t> layers,
                    const AdaptiveThresholdParams& params);
  [[nodiscard]] std::vector<RegulatorChannel> channels() const override {
    return {RegulatorChannel::threshold};
  }
  void after_forward(Network<Real>& network, const BatchActivity& activity,
                     const TrainingClock& clock) override;
  [[nodiscard]] std::optional<std::pair<double, double>> band() const override {
    return std::pair{params_.target, params_.target};
  }
  [[nodiscard]] nlohmann::json save_state() const override;
  void load_state(const nlohmann::json& state, Network<Real>& network) override;

 private:
  AdaptiveThresholdParams params_;
  std::vector<std::vector<double>> scales_;  // per layer: a copy for checkpoints
};

// The kinds this file registers (adaptive_threshold) with the readers of their config keys; listed
// in homeostasis/registry.cpp.
std::vector<RegulatorKind> adaptive_threshold_kinds();

}  // namespace homeostat
