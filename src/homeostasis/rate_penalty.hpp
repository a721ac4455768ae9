// Loss-channel rate penalties (seed 000's L2 to a target, L1 sparsity, seed 003's two-sided
// band), per layer or per neuron, with a schedule (rate_schedule.hpp).
//   per layer:   L = w_eff sum_l phi(rbar_l),          rbar_l = mean of z over (T, B, N_l)
//   per neuron:  L = w_eff sum_l (1/N_l) sum_i phi(r_li), r_li = mean of z over (T, B)
// with w_eff = weight x schedule factor and phi one of
//   rate_l2:   phi(r) = (r - target)^2
//   rate_l1:   phi(r) = r                               (spikes are >= 0, so |r| = r)
//   rate_band: phi(r) = relu(low - r)^2 + relu(r - high)^2
// The gradient with respect to spike z_tbi is w_eff phi'(r) / (T B N_l) in both modes (r: the
// layer's or the neuron's rate), the same for every step and sample.
#pragma once

#include "homeostasis/rate_schedule.hpp"
#include "homeostasis/registry.hpp"

namespace homeostat {

enum class PenaltyShape { l2, l1, band };

struct RatePenaltyParams {
  PenaltyShape shape = PenaltyShape::l2;
  double weight = 1.0;
  double target = 0.05;  // rate_l2 (final target when annealed)
  double low = 0.01;     // rate_band
  double high = 0.2;     // rate_band
  bool per_neuron = false;
  RateSchedule schedule;
};

// phi and phi' of the header; `target` is the scheduled target (rate_l2) or unused.
double rate_penalty_value(const RatePenaltyParams& params, double target, double rate);
double rate_penalty_slope(const RatePenaltyParams& params, double target, double rate);

template <typename Real>
class RatePenalty final : public Regulator<Real> {
 public:
  RatePenalty(std::string kind, std::vector<std::size_t> layers, const RatePenaltyParams& params);
  [[nodiscard]] std::vector<RegulatorChannel> channels() const override {
    return {RegulatorChannel::loss};
  }
  double penalty(const BatchActivity& activity, const TrainingClock& clock) override;
  void add_spike_gradient(std::size_t layer, std::span<Real> per_neuron) const override;
  [[nodiscard]] std::optional<std::pair<double, double>> band() const override;
  [[nodiscard]] nlohmann::json describe() const override;

 private:
  RatePenaltyParams params_;
  double current_target_;
  double current_weight_ = 0.0;
  double last_penalty_ = 0.0;
  // Per regulated layer: dL/dz per neuron ([N], or [1] per layer), from the last penalty().
  std::vector<std::vector<Real>> slopes_;
};

// The kinds this file registers (rate_l2, rate_l1, rate_band) with the readers of their config
// keys; listed in homeostasis/registry.cpp.
std::vector<RegulatorKind> rate_penalty_kinds();

}  // namespace homeostat
