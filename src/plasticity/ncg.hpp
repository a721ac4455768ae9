// Supervised STDP with Neuronal Competition Groups (papers.md section 5a, Goupy et al. 2024):
// one fully connected layer of non-leaky integrate-and-fire neurons, M per class, each firing at
// most once; inputs fire one spike each (latency code: t = round((1 - x)(T - 1)) for x > 0.01, as
// data/encoder.hpp's normalized latency). The prediction is the class of the first neuron to fire
// (ties: the higher potential; no spike: the highest final potential). Training, per sample:
//   - in every group only the first-firing neuron learns (intra-class WTA);
//   - S2-STDP error: t_base = min(mean t of the updated neurons, T - gap_nt), gap_nt = g / n_u,
//     gap_t = g (n_u - 1) / n_u; targets T_target = t_base - gap_t, T_other = t_base + gap_nt;
//     e_i = (t_i - T_i) / T;
//   - weights: causal inputs (t_j <= t_i) move by e_i A+ exp(-beta (w - w_min) / (w_max - w_min)),
//     the others by e_i A- exp(-beta (w_max - w) / (w_max - w_min)) (A- < 0; e_i < 0 is
//     anti-STDP), clipped to [w_min, w_max], optionally rescaled to sum |w| = normalize;
//   - competition regulation (two-compartment thresholds): the target group uses training
//     thresholds thetâ; if its winner fired, thetâ_winner += eta (M - 1) / M and every other
//     member's thetâ -= eta / M (sum conserved), clipped to >= theta_min. Decisions use the
//     fixed threshold theta. Learning rates anneal per epoch.
// Time runs in T discrete steps; a sample is processed event by event over the steps, since each
// neuron spikes at most once (the clock-driven simulator would give the same times, slower).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "data/dataset.hpp"

namespace homeostat {

struct NcgParams {
  std::size_t per_class = 5;  // M
  std::size_t steps = 100;    // T
  double threshold = 60.0;    // theta (decision)
  double threshold_min = 10.0;
  double threshold_lr = 1.0;  // eta_theta
  double gap = 10.0;          // g, in steps
  double a_plus = 0.05;
  double a_minus = -0.05;
  double beta = 1.0;  // multiplicative STDP (0: additive)
  double w_min = 0.0;
  double w_max = 1.0;
  double init_low = 0.0;
  double init_high = 1.0;
  double anneal = 0.5;     // learning rates x anneal per epoch
  double normalize = 0.0;  // > 0: after each update w <- w * normalize / sum |w| per neuron
  std::size_t epochs = 5;
  std::uint64_t seed = 1;
};

class NcgClassifier {
 public:
  NcgClassifier(std::size_t inputs, std::size_t classes, const NcgParams& params);

  // One epoch over `order` of `data` (learning rates annealed by the epoch index).
  void train_epoch(const Dataset& data, std::span<const std::size_t> order, std::size_t epoch);
  [[nodiscard]] std::size_t predict(std::span<const float> pixels);
  [[nodiscard]] double accuracy(const Dataset& data, std::size_t limit = 0);

  // Spike times of every output neuron for one sample (T when silent); thresholds per neuron.
  void forward(std::span<const float> pixels, std::span<const double> thresholds);
  [[nodiscard]] const std::vector<std::size_t>& times() const { return times_; }
  [[nodiscard]] const std::vector<double>& potentials() const { return potential_at_spike_; }
  std::vector<float> weights;  // [input][output], output = class * M + k
  std::vector<double> training_thresholds;

 private:
  void encode(std::span<const float> pixels);
  void learn(std::size_t label, double rate);

  std::size_t inputs_, classes_, outputs_;
  NcgParams p_;
  std::vector<double> decision_thresholds_;
  // scratch
  std::vector<std::size_t> input_time_;  // T: no spike
  std::vector<std::vector<std::uint32_t>> by_step_;
  std::vector<double> potential_, potential_at_spike_;
  std::vector<std::size_t> times_;
  std::vector<double> thresholds_now_;
};

}  // namespace homeostat
