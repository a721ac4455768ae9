// LIF / ALIF dynamics: the per-step forward and backward kernels, side by side.
//
// State per neuron (element e = b*N + j of a [B, N] slice), with z_{-1} = v_{-1} = a_{-1} = 0:
//   a_t     = rho a_{t-1} + (1 - rho) z_{t-1}                 (ALIF only; else a = 0)
//   theta_t = s (theta0_j + beta_a a_t)                        (s: regulator scale, no gradient)
//   v_t     = beta_j v_{t-1} + I_t - theta_{t-1} z_{t-1}       reset "subtract"
//           = beta_j v_{t-1} (1 - z_{t-1}) + I_t               reset "zero"
//           = beta_j v_{t-1} + I_t                             reset "none"
//   m_t     = 1 unless a spike at one of the previous R steps (absolute refractory period R)
//   z_t     = m_t f(v_t - theta_t)                             (f: Heaviside or smooth,
//   surrogate.hpp)
// A suppressed (refractory) spike carries no gradient. With detach_reset the reset term's
// dependence on z_{t-1} is cut from the gradient (its dependence on theta is kept).
//
// Backward, in reverse time, with carries G_v = dL/dv_{t+1} and G_a = dL/da_{t+1}:
//   gz  = dL/dz_t + [reset grad] (-theta_t G_v | -beta v_t G_v) + (1 - rho) G_a
//   gu  = gz m_t f'(v_t - theta_t)
//   gv  = gu + G_v beta (1 - z_t [zero reset])          -> dL/dI_t, and the new G_v
//   gth = -gu - z_t G_v [subtract]                       -> dL/dtheta0 += s gth
//   ga  = s beta_a gth + rho G_a                         -> the new G_a
//   dL/dbeta_j += gv v_{t-1} (1 - z_{t-1} [zero reset])
#pragma once

#include <cstddef>
#include <cstdint>

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
  std::size_t neurons;  // N
  const Real* beta;     // [N]
  const Real* theta0;   // [N]
  Real threshold_scale;
  Real rho;
  Real beta_a;
  ResetMode reset;
  bool detach_reset;
  bool adaptive;
  std::size_t refractory_steps;
};

// Forward over elements [begin, end) for one step. prev_* point at step t-1 (null for t = 0).
// Writes v, z, a (if adaptive) and the refractory mask (if refractory) for step t; updates the
// per-element refractory counter. Outputs are assigned.
template <typename Real, typename Spike>
inline void lif_forward_step(const LifConstants<Real>& k, const Spike& spike, std::size_t begin,
                             std::size_t end, const Real* current, const Real* prev_v,
                             const Real* prev_z, const Real* prev_a, Real* v, Real* z, Real* a,
                             std::uint8_t* mask, std::uint16_t* refractory_left) {
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
    const Real theta = k.threshold_scale * (k.theta0[j] + k.beta_a * a_now);
    Real v_now;
    switch (k.reset) {
      case ResetMode::subtract: {
        const Real theta_prev = k.threshold_scale * (k.theta0[j] + k.beta_a * a_prev);
        v_now = k.beta[j] * v_prev + current[e] - theta_prev * z_prev;
        break;
      }
      case ResetMode::zero:
        v_now = k.beta[j] * v_prev * (Real{1} - z_prev) + current[e];
        break;
      case ResetMode::none:
      default:
        v_now = k.beta[j] * v_prev + current[e];
        break;
    }
    v[e] = v_now;
    Real z_now = spike.fire(v_now - theta);
    if (k.refractory_steps > 0) {
      std::uint16_t left = refractory_left[e];
      if (z_prev >= Real{0.5})
        left = static_cast<std::uint16_t>(k.refractory_steps);
      else if (left > 0)
        --left;
      refractory_left[e] = left;
      const bool open = left == 0;
      mask[e] = open ? 1 : 0;
      if (!open) z_now = Real{0};
    }
    z[e] = z_now;
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
    const Real theta = k.threshold_scale * (k.theta0[j] + k.beta_a * a_now);
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
    const bool open = k.refractory_steps == 0 || mask[e] != 0;
    const Real gu = open ? gz * spike.slope(v[e] - theta) : Real{0};
    const Real keep = k.reset == ResetMode::zero ? Real{1} - z[e] : Real{1};
    const Real gv = gu + g_v_next * k.beta[j] * keep;
    Real g_theta = -gu;
    if (k.reset == ResetMode::subtract) g_theta -= z[e] * g_v_next;
    if (k.adaptive) carry_a[e] = k.threshold_scale * k.beta_a * g_theta + k.rho * g_a_next;
    carry_v[e] = gv;
    grad_current[e] = gv;
    if (grad_theta_elem) grad_theta_elem[e] += k.threshold_scale * g_theta;
    if (grad_beta_elem && prev_v) {
      const Real keep_prev = k.reset == ResetMode::zero ? Real{1} - prev_z[e] : Real{1};
      grad_beta_elem[e] += gv * prev_v[e] * keep_prev;
    }
  }
}

}  // namespace homeostat
