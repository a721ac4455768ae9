// AHSAR, the layer-wise homeostatic threshold controller (seed 004, papers.md section 4).
// The paper publishes the components, not the equations; this is homeostat's exact definition.
// Every constant is a config key (README, "Regulators").
//
// Fast timescale, after every training batch, for the regulated layers l = 1..L in network order:
//   h_l  <- (1 - rho) h_l + rho r_l              rate sensing (EMA; h_l starts at the first r_l)
//   d_l   = clamp((h_l - r_c) / (r_c + eps), -D, D)      centred deviation, r_c = (low + high)/2
//   e_l   = d_l + kappa (d_{l-1} - 2 d_l + d_{l+1})      Laplacian diffusion across neighbouring
//                                                        layers (a missing neighbour counts as d_l)
//   u_l  <- clamp(u_l + eta tanh(g e_l), -U, U)          bounded nonlinearity, integrated
//   theta_l = theta0_l G exp(u_l)                        threshold scale of the next pass
// Slow timescale, after every epoch:
//   E  = mean_l h_l^2,  E* = r_c^2                       activity energy and its set point
//   p  = clamp((A_now - A_prev) / delta, -1, 1)          validation progress (0 in epoch 1)
//   G <- clamp(G exp(eta_E (E - E*) / E* - eta_v p), G_min, G_max)
// Why the integral: a proportional scale 1 + a tanh(.) bounded to [1 - a, 1 + a] cannot undo a
// x4 threshold error; integrating the bounded deviation keeps each step bounded and the scale
// itself bounded by exp(+-U), and drives the layer back into its band.
#pragma once

#include "homeostasis/registry.hpp"

namespace homeostat {

struct AhsarParams {
  double low = 0.02;  // target band; r_c is its centre
  double high = 0.2;
  double rho = 0.1;              // EMA rate of the homeostatic state
  double eps = 1e-3;             // keeps the centred deviation finite for tiny targets
  double max_deviation = 4.0;    // D
  double kappa = 0.1;            // diffusion strength (kappa <= 0.25 keeps it a smoothing)
  double gain = 2.0;             // g
  double eta = 0.02;             // per-batch step of the log scale
  double max_log_scale = 2.0;    // U: the scale stays in [exp(-U), exp(U)]
  double eta_energy = 0.1;       // eta_E
  double eta_validation = 0.05;  // eta_v
  double progress_delta = 0.01;  // delta: accuracy change that counts as full progress
  double min_global = 0.5;       // G_min
  double max_global = 2.0;       // G_max
};

// The per-layer fast step: returns the new log scales u given the deviations d (eq. of the
// header; u and d in layer order).
std::vector<double> ahsar_fast_step(const AhsarParams& params, const std::vector<double>& u,
                                    const std::vector<double>& deviation);
double ahsar_deviation(const AhsarParams& params, double state);
double ahsar_global_step(const AhsarParams& params, double global, double energy, double progress);

template <typename Real>
class Ahsar final : public Regulator<Real> {
 public:
  Ahsar(std::string kind, std::vector<std::size_t> layers, const AhsarParams& params);
  [[nodiscard]] std::vector<RegulatorChannel> channels() const override {
    return {RegulatorChannel::threshold};
  }
  void after_forward(Network<Real>& network, const BatchActivity& activity,
                     const TrainingClock& clock) override;
  void end_epoch(Network<Real>& network, const EpochSignals& signals) override;
  [[nodiscard]] std::optional<std::pair<double, double>> band() const override {
    return std::pair{params_.low, params_.high};
  }
  [[nodiscard]] nlohmann::json save_state() const override;
  void load_state(const nlohmann::json& state, Network<Real>& network) override;
  [[nodiscard]] nlohmann::json describe() const override;

 private:
  void apply(Network<Real>& network) const;

  AhsarParams params_;
  std::vector<double> state_;      // h_l
  std::vector<double> log_scale_;  // u_l
  double global_ = 1.0;            // G
  bool started_ = false;
  bool have_previous_accuracy_ = false;
  double previous_accuracy_ = 0.0;
};

// The kinds this file registers (ahsar) with the readers of their config keys; listed
// in homeostasis/registry.cpp.
std::vector<RegulatorKind> ahsar_kinds();

}  // namespace homeostat
