// LIF / ALIF dynamics: the per-step forward and backward kernels, side by side.
//
// State per neuron (element e = b*N + j of a [B, N] slice), with z_{-1} = v_{-1} = a_{-1} = 0:
//   a_t     = rho a_{t-1} + (1 - rho) z_{t-1}                 (ALIF only; else a = 0)
//   theta_t = s_j (theta0_j + beta_a a_t)                      (s_j: regulator scale, no gradient)
//   v_t     = beta_j v_{t-1} + I_t - theta_{t-1} z_{t-1}       reset "subtract"
//           = beta_j v_{t-1} (1 - z_{t-1}) + I_t               reset "zero"
//           = beta_j v_{t-1} + I_t                             reset "none"
//   m_t     = 1 unless a spike at one of the previous R steps (absolute refractory period R),
//             and (firing cap) unless k spikes already fell in steps [t-W+1, t-1]
//   I_t    <- m_t I_t: a closed neuron (refractory or capped) ignores its input and only leaks,
//             so it does not wind up while it cannot fire
//   z_t     = m_t f(v_t - theta_t)                             (f: Heaviside or smooth,
//   surrogate.hpp)
// k-WTA (constraint channel) runs after the step over each sample's N neurons: of the neurons
// that fired, only the k with the largest v_t - theta_t keep their spike (mask 2 marks the
// others: input integrated, spike removed).
// A suppressed spike (refractory, capped or k-WTA) carries no gradient. With detach_reset the reset
// term's dependence on z_{t-1} is cut from the gradient (its dependence on theta is kept).
//
// Backward, in reverse time, with carries G_v = dL/dv_{t+1} and G_a = dL/da_{t+1}:
//   gz  = dL/dz_t + [reset grad] (-theta_t G_v | -beta v_t G_v) + (1 - rho) G_a
//   gu  = gz m_t f'(v_t - theta_t)
//   gv  = gu + G_v beta (1 - z_t [zero reset])          -> the new G_v; dL/dI_t = m_t gv
//   gth = -gu - z_t G_v [subtract]                       -> dL/dtheta0 += s_j gth
//   ga  = s_j beta_a gth + rho G_a                       -> the new G_a
//   dL/dbeta_j += gv v_{t-1} (1 - z_{t-1} [zero reset])
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

#include "neuron/surrogate.hpp"

namespace homeostat {

enum class ResetMode { subtract, zero, none };

// What a population's neurons are; built from the config, validated there.
struct NeuronSpec {
  double decay = 0.95;  // beta = exp(-dt / tau) when given as tau
  double threshold = 1.0;
  ResetMode reset = ResetMode::subtract;
  bool detach_reset = true;
  std::size_t refractory_steps = 0;
  bool adaptive = false;             // ALIF
  double adaptation_decay = 0.0;     // rho = exp(-dt / tau_a)
  double adaptation_strength = 0.0;  // beta_a
  enum class Learn { none, layer, neuron };
  Learn learn_threshold = Learn::none;  // theta0 = tanh(w) (LTMD)
  Learn learn_decay = Learn::none;      // beta = sigmoid(w) (PLIF-style)
  SurrogateSpec surrogate;
};

// Read-only view of what the kernels need per step. Arrays are [B*N] slices for step t, except
// the per-neuron arrays beta and theta0 ([N]).
template <typename Real>
struct LifConstants {
  std::size_t neurons;          // N
  const Real* beta;             // [N]
  const Real* theta0;           // [N]
  const Real* threshold_scale;  // [N], regulator scale s_j (layer scale x neuron scale)
  Real rho;
  Real beta_a;
  ResetMode reset;
  bool detach_reset;
  bool adaptive;
  std::size_t refractory_steps;
  std::size_t cap_spikes = 0;  // firing cap: at most cap_spikes spikes ...
  std::size_t cap_window = 0;  // ... in any window of cap_window steps (0: no cap)

  [[nodiscard]] bool constrained() const { return refractory_steps > 0 || cap_window > 0; }
  // theta_t of neuron j for adaptation state a.
  [[nodiscard]] Real threshold(std::size_t j, Real a) const {
    return threshold_scale[j] * (theta0[j] + beta_a * a);
  }
};

// Forward over elements [begin, end) for one step. prev_* point at step t-1 (null for t = 0);
// leaving_z at step t-W (null for t < W, or without a cap). Writes v, z, a (if adaptive) and the
// open mask (if constrained) for step t; updates the per-element refractory counter and the
// cap's window count (spikes in [t-W+1, t-1]). Outputs are assigned.
template <typename Real, typename Spike>
inline void lif_forward_step(const LifConstants<Real>& k, const Spike& spike, std::size_t begin,
                             std::size_t end, const Real* current, const Real* prev_v,
                             const Real* prev_z, const Real* prev_a, const Real* leaving_z, Real* v,
                             Real* z, Real* a, std::uint8_t* mask, std::uint16_t* refractory_left,
                             std::uint16_t* window_count) {
  for (std::size_t e = begin; e < end; ++e) {
    const std::size_t j = e % k.neurons;
    const Real z_prev = prev_z ? prev_z[e] : Real{0};
    const Real v_prev = prev_v ? prev_v[e] : Real{0};
    const Real a_prev = prev_a ? prev_a[e] : Real{0};
    Real a_now = Real{0};
    if (k.adaptive) {
      a_now = k.rho * a_prev + (Real{1} - k.rho) * z_prev;
      a[e] = a_now;
    }
    const Real theta = k.threshold(j, a_now);
    bool open = true;
    if (k.constrained()) {
      if (k.refractory_steps > 0) {
        std::uint16_t left = refractory_left[e];
        if (z_prev >= Real{0.5})
          left = static_cast<std::uint16_t>(k.refractory_steps);
        else if (left > 0)
          --left;
        refractory_left[e] = left;
        open = left == 0;
      }
      if (k.cap_window > 0) {
        std::uint16_t count = window_count[e];
        if (z_prev >= Real{0.5}) ++count;
        if (leaving_z && leaving_z[e] >= Real{0.5}) --count;
        window_count[e] = count;
        open = open && count < k.cap_spikes;
      }
      mask[e] = open ? 1 : 0;
    }
    const Real input = open ? current[e] : Real{0};
    Real v_now;
    switch (k.reset) {
      case ResetMode::subtract: {
        const Real theta_prev = k.threshold(j, a_prev);
        v_now = k.beta[j] * v_prev + input - theta_prev * z_prev;
        break;
      }
      case ResetMode::zero:
        v_now = k.beta[j] * v_prev * (Real{1} - z_prev) + input;
        break;
      case ResetMode::none:
      default:
        v_now = k.beta[j] * v_prev + input;
        break;
    }
    v[e] = v_now;
    z[e] = open ? spike.fire(v_now - theta) : Real{0};
  }
}

// Backward over elements [begin, end) for step t. grad_z: dL/dz_t from outside; writes
// grad_current (dL/dI_t, assigned); carries G_v, G_a in place; accumulates per-element
// contributions to dL/dbeta and dL/dtheta0 into grad_beta_elem / grad_theta_elem (+=, [B*N]).
template <typename Real, typename Spike>
inline void lif_backward_step(const LifConstants<Real>& k, const Spike& spike, std::size_t begin,
                              std::size_t end, const Real* grad_z, const Real* v, const Real* z,
                              const Real* a, const std::uint8_t* mask, const Real* prev_v,
                              const Real* prev_z, Real* carry_v, Real* carry_a, Real* grad_current,
                              Real* grad_beta_elem, Real* grad_theta_elem) {
  for (std::size_t e = begin; e < end; ++e) {
    const std::size_t j = e % k.neurons;
    const Real a_now = k.adaptive ? a[e] : Real{0};
    const Real theta = k.threshold(j, a_now);
    const Real g_v_next = carry_v[e];
    const Real g_a_next = k.adaptive ? carry_a[e] : Real{0};
    Real gz = grad_z[e];
    if (!k.detach_reset) {
      if (k.reset == ResetMode::subtract)
        gz -= theta * g_v_next;
      else if (k.reset == ResetMode::zero)
        gz -= k.beta[j] * v[e] * g_v_next;
    }
    if (k.adaptive) gz += (Real{1} - k.rho) * g_a_next;
    // mask: 1 open, 0 closed (no input, no spike), 2 spike removed by k-WTA.
    const std::uint8_t state = mask ? mask[e] : std::uint8_t{1};
    const Real gu = state == 1 ? gz * spike.slope(v[e] - theta) : Real{0};
    const Real keep = k.reset == ResetMode::zero ? Real{1} - z[e] : Real{1};
    const Real gv = gu + g_v_next * k.beta[j] * keep;
    Real g_theta = -gu;
    if (k.reset == ResetMode::subtract) g_theta -= z[e] * g_v_next;
    if (k.adaptive) carry_a[e] = k.threshold_scale[j] * k.beta_a * g_theta + k.rho * g_a_next;
    carry_v[e] = gv;
    grad_current[e] = state == 0 ? Real{0} : gv;
    if (grad_theta_elem) grad_theta_elem[e] += k.threshold_scale[j] * g_theta;
    if (grad_beta_elem && prev_v) {
      const Real keep_prev = k.reset == ResetMode::zero ? Real{1} - prev_z[e] : Real{1};
      grad_beta_elem[e] += gv * prev_v[e] * keep_prev;
    }
  }
}

// k-WTA over one sample's neurons [begin, begin + N) at step t: if more than `winners` fired,
// keeps the spikes of the `winners` neurons with the largest margin v - theta (ties: lower
// index) and closes the mask of the others. `order` is scratch (resized as needed).
template <typename Real>
inline void lif_k_winners(const LifConstants<Real>& k, std::size_t winners, std::size_t begin,
                          const Real* v, const Real* a, Real* z, std::uint8_t* mask,
                          std::vector<std::pair<Real, std::size_t>>& order) {
  order.clear();
  for (std::size_t j = 0; j < k.neurons; ++j) {
    const std::size_t e = begin + j;
    if (z[e] != Real{0}) order.emplace_back(v[e] - k.threshold(j, a ? a[e] : Real{0}), j);
  }
  if (order.size() <= winners) return;
  const auto stronger = [](const auto& x, const auto& y) {
    return x.first > y.first || (x.first == y.first && x.second < y.second);
  };
  std::nth_element(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(winners), order.end(),
                   stronger);
  for (std::size_t r = winners; r < order.size(); ++r) {
    const std::size_t e = begin + order[r].second;
    z[e] = Real{0};
    mask[e] = 2;
  }
}

}  // namespace homeostat
