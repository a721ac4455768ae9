// The cuba_lif neuron model: a current-based synapse with its own decay feeding the LIF soma of
// lif.hpp (NIR's CubaLIF; snnTorch's Synaptic). Registered in neuron/models.cpp; the contract is
// in neuron/model.hpp.
//
// Per element e = b*N + j, with x_t the population's input (the previous layer's output) and
// i_{-1} = 0:
//   i_t = alpha i_{t-1} + x_t                                  synaptic current
//   v_t = beta_j v_{t-1} + m_t i_t - theta_{t-1} z_{t-1}       lif.hpp's soma with I_t = i_t:
//   z_t = m_t f(v_t - theta_t)                                 its resets, surrogates, ALIF
//                                                              threshold, masks m_t (refractory,
//                                                              cap, k-WTA), learnable theta0/beta
// A closed neuron (m_t = 0) ignores its synaptic current; the synapse keeps integrating.
// Backward, in reverse time, with the carry G_i = dL/di_{t+1} (lif.hpp for the soma's):
//   dL/di_t = m_t gv_t + alpha G_i     (m_t gv_t: the soma's dL/dI_t)  -> the new G_i
//   dL/dx_t = dL/di_t
//
// NIR's CubaLIF, tau_syn dI/dt = -I + w_in S and tau_mem dv/dt = (v_leak - v) + r I with a
// spike when v > v_threshold, by forward Euler with step dt (as NIR's reference and snnTorch):
//   alpha = 1 - dt / tau_syn  (synaptic_decay),   beta = 1 - dt / tau_mem  (decay);
//   the input gain (dt / tau_syn) w_in (dt / tau_mem) r multiplies x_t here: it is 1 for
//   snnTorch's export (r = tau_mem / dt, w_in = tau_syn / dt), else fold it into the weights of
//   the layer before; v here is v_NIR - v_leak, so threshold = v_threshold - v_leak, and reset
//   "zero" returns to v_leak (NIR's v_reset = v_leak).
// Config (kind = "cuba_lif", or neuron = "cuba_lif" on a recurrent layer): every key of lif
// (read_neuron_keys, model.hpp) plus synaptic_decay (alpha) or synaptic_tau (alpha =
// exp(-1 / synaptic_tau), in steps, like tau). alpha is not learned.
#pragma once

#include <cmath>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/key_reader.hpp"
#include "neuron/lif.hpp"
#include "neuron/model.hpp"
#include "neuron/neuron_spec.hpp"
#include "tensor/tensor.hpp"

namespace homeostat {
namespace cuba_detail {

// i_t = alpha i_{t-1} + x_t over n elements (i_prev null at t = 0: i_t = x_t).
template <typename Real>
inline void synapse_forward(std::size_t n, const Real alpha, const Real* __restrict x,
                            const Real* __restrict i_prev, Real* __restrict i_now) {
  if (i_prev == nullptr) {
    for (std::size_t e = 0; e < n; ++e) i_now[e] = x[e];
    return;
  }
  for (std::size_t e = 0; e < n; ++e) i_now[e] = alpha * i_prev[e] + x[e];
}

// g holds the soma's dL/dI_t on entry and dL/dx_t = dL/di_t = g + alpha G_i on exit; G_i too.
template <typename Real>
inline void synapse_backward(std::size_t n, const Real alpha, Real* __restrict g,
                             Real* __restrict carry) {
  for (std::size_t e = 0; e < n; ++e) {
    const Real g_i = g[e] + alpha * carry[e];
    carry[e] = g_i;
    g[e] = g_i;
  }
}

}  // namespace cuba_detail

struct CubaLifModel {
  static constexpr std::string_view kName = "cuba_lif";
  static constexpr std::string_view kSummary =
      "current-based LIF: a decaying synaptic current feeds the LIF membrane (NIR CubaLIF)";
  static constexpr std::string_view kSynapticDecay = "synaptic_decay";  // model_parameters key
  static constexpr double kDefaultSynapticDecay = 0.9;

  static double synaptic_decay(const NeuronSpec& spec) {
    return spec.parameter(kSynapticDecay, kDefaultSynapticDecay);
  }

  static void read_keys(const KeyReader& keys, NeuronSpec& spec) {
    read_neuron_keys(keys, spec);
    if (keys.has("synaptic_tau") && keys.has("synaptic_decay")) {
      throw keys.error("synaptic_tau",
                       "give either 'synaptic_decay' (alpha) or 'synaptic_tau' (alpha = "
                       "exp(-1/synaptic_tau)), not both");
    }
    spec.model_parameters[std::string(kSynapticDecay)] =
        keys.has("synaptic_tau")
            ? std::exp(-1.0 / keys.number("synaptic_tau", 10.0, 1e-6, KeyReader::kNoMax))
            : keys.number("synaptic_decay", kDefaultSynapticDecay, 0.0, 1.0);
  }

  static std::string rate_pass_obstacle(const NeuronSpec& /*spec*/) {
    return "has cuba_lif neurons (the rate pass's eligibility is derived for the lif membrane)";
  }

  // The advisor's conditions assume the input current enters the membrane directly.
  static std::optional<LeakyIntegratorView> leaky_integrator(const NeuronSpec& /*spec*/) {
    return std::nullopt;
  }

  template <typename Real>
  struct State {
    Real alpha;
    Tensor<Real> current;     // [T, B, N] i_t
    std::vector<Real> carry;  // [B * N] G_i
    explicit State(const NeuronSpec& spec) : alpha(static_cast<Real>(synaptic_decay(spec))) {}
    void begin_forward(std::size_t steps, std::size_t batch, std::size_t neurons) {
      current.resize({steps, batch, neurons});
    }
    void begin_backward(std::size_t slice) { carry.assign(slice, Real{0}); }
  };

  template <typename Real, typename Fire>
  static void forward_step(const LifConstants<Real>& k, const Fire& fire, State<Real>& state,
                           const ForwardStep<Real>& s) {
    Real* i_now = state.current.data() + s.t * s.slice;
    const Real* i_prev = s.t == 0 ? nullptr : i_now - s.slice;
    cuba_detail::synapse_forward(s.end - s.begin, state.alpha, s.input + s.begin,
                                 i_prev ? i_prev + s.begin : nullptr, i_now + s.begin);
    lif_forward_step(k, fire, s.begin, s.end, static_cast<const Real*>(i_now), s.prev_v, s.prev_z,
                     s.prev_a, s.leaving_z, s.v, s.z, s.a, s.mask, s.refractory_left,
                     s.window_count);
  }

  template <typename Real, typename Spike>
  static void backward_step(const LifConstants<Real>& k, const Spike& spike, State<Real>& state,
                            const BackwardStep<Real>& s) {
    lif_backward_step(k, spike, s.begin, s.end, s.grad_z, s.uniform_grad_z, s.v, s.z, s.a, s.mask,
                      s.prev_v, s.prev_z, s.carry_v, s.carry_a, s.grad_input, s.grad_beta_elem,
                      s.grad_theta_elem);
    cuba_detail::synapse_backward(s.end - s.begin, state.alpha, s.grad_input + s.begin,
                                  state.carry.data() + s.begin);
  }
};

}  // namespace homeostat
