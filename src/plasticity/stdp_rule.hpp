// Spike-timing-dependent plasticity rules on traces (papers.md section 2; Pfister & Gerstner 2006;
// Diehl & Cook 2015). Each rule is a weight change at a presynaptic arrival ("pre side") and at a
// postsynaptic spike ("post side"), read from exponentially decaying traces:
//   pre traces  x1 (tau_plus), x2 (tau_x);  post traces  y1 (tau_minus), y2 (tau_y).
// Traces jump on a spike: +1 (all-to-all pairing) or to 1 (nearest-spike pairing).
//   pair     pre : dw = -A-  y1 f-(w)                 post: dw = A+ x1 f+(w)
//   triplet  pre : dw = -y1 (A2- + A3- x2') f-(w)     post: dw = x1 (A2+ + A3+ y2') f+(w)
//            (x2', y2': the own second trace just before this spike)
//   target   post: dw = eta (x1 - x_tar) max(w_max - w, 0)^mu   (seed 002; x_tar = mean of x1
//            over the presynaptic population, instantaneous when tau_target = 0, else its
//            running average with time constant tau_target: a moving set point), no pre side
// with f+(w) = 1 (hard bound) or (w_max - w)^mu_plus (soft), f-(w) = 1 or (w - w_min)^mu_minus,
// and w clipped to [w_min, w_max] after every change. Within one step the pre side runs first,
// with the post traces from before the step's post spikes; the post side sees the pre traces
// including the step's arrivals (Brian2's W4 reference does the same).
#pragma once

#include <algorithm>
#include <cmath>

namespace homeostat {

enum class StdpKind { none, pair, triplet, target };
enum class TracePairing { all_to_all, nearest };

struct StdpParams {
  StdpKind kind = StdpKind::none;
  TracePairing pairing = TracePairing::all_to_all;
  bool soft_potentiation = false;  // f+(w) = (w_max - w)^mu_plus
  bool soft_depression = false;    // f-(w) = (w - w_min)^mu_minus
  double tau_plus = 20.0;          // ms, pre trace x1
  double tau_minus = 20.0;         // ms, post trace y1
  double tau_x = 101.0;            // ms, triplet pre trace x2
  double tau_y = 125.0;            // ms, triplet post trace y2
  double a_plus = 0.01;            // pair / triplet A2+, seed 002's eta
  double a_minus = 0.0001;         // pair / triplet A2- (a magnitude: depression is -A-)
  double a3_plus = 0.0;            // triplet
  double a3_minus = 0.0;           // triplet
  double tau_target = 0.0;         // ms, seed 002's running x_tar (0: instantaneous mean)
  double mu_plus = 1.0;            // soft-bound exponent of potentiation (seed 002: mu)
  double mu_minus = 1.0;
  double w_min = 0.0;
  double w_max = 1.0;
};

// A trace's value after its own spike.
inline double trace_jump(double trace, TracePairing pairing) {
  return pairing == TracePairing::nearest ? 1.0 : trace + 1.0;
}

inline double clip_weight(double w, const StdpParams& p) { return std::clamp(w, p.w_min, p.w_max); }

// Pre side: the new weight when a presynaptic spike arrives.
inline double stdp_pre(double w, double y1, double x2_before, const StdpParams& p) {
  double amplitude = 0.0;
  switch (p.kind) {
    case StdpKind::pair:
      amplitude = p.a_minus;
      break;
    case StdpKind::triplet:
      amplitude = p.a_minus + p.a3_minus * x2_before;
      break;
    case StdpKind::none:
    case StdpKind::target:
      return w;
  }
  const double f = p.soft_depression ? std::pow(std::max(w - p.w_min, 0.0), p.mu_minus) : 1.0;
  return clip_weight(w - amplitude * y1 * f, p);
}

// Post side: the new weight when the postsynaptic neuron spikes. x_target is used by `target`.
inline double stdp_post(double w, double x1, double y2_before, double x_target,
                        const StdpParams& p) {
  switch (p.kind) {
    case StdpKind::pair:
    case StdpKind::triplet: {
      const double amplitude =
          p.kind == StdpKind::pair ? p.a_plus : p.a_plus + p.a3_plus * y2_before;
      const double f = p.soft_potentiation ? std::pow(std::max(p.w_max - w, 0.0), p.mu_plus) : 1.0;
      return clip_weight(w + amplitude * x1 * f, p);
    }
    case StdpKind::target:
      return clip_weight(
          w + p.a_plus * (x1 - x_target) * std::pow(std::max(p.w_max - w, 0.0), p.mu_plus), p);
    case StdpKind::none:
      return w;
  }
  return w;
}

}  // namespace homeostat
