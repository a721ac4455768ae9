// The lif neuron model (LIF; ALIF with adaptive = true): its per-step forward and backward
// kernels side by side, the rate pass's kernel, and LifModel, its entry in the model table
// (neuron/models.cpp; the contract is in neuron/model.hpp). The kernels are also the soma of the
// other models of the family (cuba_lif.hpp). Parameters: NeuronSpec (neuron_spec.hpp), keys
// read by read_neuron_keys (model.hpp).
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
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "common/key_reader.hpp"
#include "neuron/model.hpp"
#include "neuron/neuron_spec.hpp"
#include "neuron/surrogate.hpp"
#include "tensor/parallel.hpp"

namespace homeostat {

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

namespace lif_detail {

// Calls body(e, j, n) for each run [e, e + n) of elements that lies in one sample's row, with j
// the neuron index of e: the inner loops then index per-neuron arrays without a division per
// element and stay contiguous and branch-free, so the compiler vectorizes them.
template <typename Body>
inline void for_each_row_run(std::size_t neurons, std::size_t begin, std::size_t end,
                             const Body& body) {
  std::size_t e = begin;
  while (e < end) {
    const std::size_t j = e % neurons;
    const std::size_t n = std::min(end - e, neurons - j);
    body(e, j, n);
    e += n;
  }
}

// Calls body(flag...) with each runtime flag turned into a compile-time std::bool_constant.
template <typename Body>
inline void with_flags(const Body& body) {
  body();
}
template <typename Body, typename... Rest>
inline void with_flags(const Body& body, bool flag, Rest... rest) {
  if (flag) {
    with_flags([&](auto... more) { body(std::true_type{}, more...); }, rest...);
  } else {
    with_flags([&](auto... more) { body(std::false_type{}, more...); }, rest...);
  }
}

// The reset modes as factors, so one branch-free expression covers all three:
//   v_t = beta v_{t-1} (1 - zero z_{t-1}) + I_t - subtract theta_{t-1} z_{t-1}
template <typename Real>
struct ResetFactors {
  Real subtract;
  Real zero;
  explicit ResetFactors(ResetMode mode)
      : subtract(mode == ResetMode::subtract ? Real{1} : Real{0}),
        zero(mode == ResetMode::zero ? Real{1} : Real{0}) {}
};

}  // namespace lif_detail

namespace lif_detail {

// The per-run loops take every array as a __restrict parameter (GCC honours restrict on
// parameters, not on locals) and every scalar by value, so they vectorize without alias checks.
template <bool kFirst, bool kAdaptive, bool kConstrained, typename Real, typename Fire>
inline void forward_run(std::size_t n, const Fire fire, const Real rho, const Real beta_a,
                        const Real reset_zero, const Real reset_subtract,
                        const std::uint16_t refractory_steps, const std::uint16_t cap_limit,
                        const std::uint16_t cap_increment, const Real* __restrict in,
                        const Real* __restrict v_prev_row, const Real* __restrict z_prev_row,
                        const Real* __restrict a_prev_row, const Real* __restrict beta,
                        const Real* __restrict theta0, const Real* __restrict scale,
                        Real* __restrict v_row, Real* __restrict z_row, Real* __restrict a_row,
                        std::uint8_t* __restrict mask_row, std::uint16_t* __restrict left_row,
                        std::uint16_t* __restrict count_row) {
  for (std::size_t i = 0; i < n; ++i) {
    const Real z_prev = kFirst ? Real{0} : z_prev_row[i];
    const Real v_prev = kFirst ? Real{0} : v_prev_row[i];
    Real a_prev = Real{0};
    Real a_now = Real{0};
    if constexpr (kAdaptive) {
      a_prev = kFirst ? Real{0} : a_prev_row[i];
      a_now = rho * a_prev + (Real{1} - rho) * z_prev;
      a_row[i] = a_now;
    }
    const Real theta = scale[i] * (theta0[i] + beta_a * a_now);
    const Real theta_prev = scale[i] * (theta0[i] + beta_a * a_prev);
    bool open = true;
    if constexpr (kConstrained) {
      // Integer selects only, in the counters' own width, so this part vectorizes too.
      const std::uint16_t fired = z_prev >= Real{0.5} ? 1 : 0;
      const std::uint16_t left = left_row[i];
      const auto counted_down = static_cast<std::uint16_t>(left - (left != 0 ? 1 : 0));
      const std::uint16_t left_now = fired != 0 ? refractory_steps : counted_down;
      left_row[i] = left_now;
      const auto count = static_cast<std::uint16_t>(count_row[i] + fired * cap_increment);
      count_row[i] = count;
      open = (left_now == 0) & (count < cap_limit);
      mask_row[i] = open ? 1 : 0;
    }
    const Real input = open ? in[i] : Real{0};
    const Real v_now = beta[i] * v_prev * (Real{1} - reset_zero * z_prev) + input -
                       reset_subtract * theta_prev * z_prev;
    v_row[i] = v_now;
    z_row[i] = open ? fire.fire(v_now - theta) : Real{0};
  }
}

// kLearn: also accumulates the per-element dL/dtheta0 and dL/dbeta terms (learnable thresholds or
// decays; either pointer may be null). kInPlace: dL/dz_t is read from gi and the input gradient
// written over it, element by element (gz_row is unused), so no two restrict pointers alias.
template <bool kAdaptive, bool kMasked, bool kLearn, bool kInPlace, typename Real, typename Spike>
inline void backward_run(std::size_t n, const Spike spike, const Real rho, const Real beta_a,
                         const Real reset_zero, const Real reset_subtract,
                         const Real reset_gradient, const Real* __restrict gz_row,
                         const Real* __restrict gz_uniform, const Real* __restrict v_row,
                         const Real* __restrict z_row, const Real* __restrict a_row,
                         const std::uint8_t* __restrict mask_row, const Real* __restrict beta,
                         const Real* __restrict theta0, const Real* __restrict scale,
                         const Real* __restrict v_prev_row, const Real* __restrict z_prev_row,
                         Real* __restrict cv, Real* __restrict ca, Real* __restrict gi,
                         Real* __restrict g_theta_row, Real* __restrict g_beta_row) {
  for (std::size_t i = 0; i < n; ++i) {
    const Real a_now = kAdaptive ? a_row[i] : Real{0};
    const Real theta = scale[i] * (theta0[i] + beta_a * a_now);
    const Real g_v_next = cv[i];
    const Real g_a_next = kAdaptive ? ca[i] : Real{0};
    Real gz =
        (kInPlace ? gi[i] : gz_row[i]) + gz_uniform[i] -
        reset_gradient * (reset_subtract * theta + reset_zero * beta[i] * v_row[i]) * g_v_next;
    if constexpr (kAdaptive) gz += (Real{1} - rho) * g_a_next;
    // mask: 1 open, 0 closed (no input, no spike), 2 spike removed by k-WTA.
    const std::uint8_t state = kMasked ? mask_row[i] : std::uint8_t{1};
    const Real gu = state == 1 ? gz * spike.slope(v_row[i] - theta) : Real{0};
    const Real gv = gu + g_v_next * beta[i] * (Real{1} - reset_zero * z_row[i]);
    const Real g_theta = -gu - reset_subtract * z_row[i] * g_v_next;
    if constexpr (kAdaptive) ca[i] = scale[i] * beta_a * g_theta + rho * g_a_next;
    cv[i] = gv;
    gi[i] = state == 0 ? Real{0} : gv;
    if constexpr (kLearn) {
      if (g_theta_row) g_theta_row[i] += scale[i] * g_theta;
      if (g_beta_row && v_prev_row)
        g_beta_row[i] += gv * v_prev_row[i] * (Real{1} - reset_zero * z_prev_row[i]);
    }
  }
}

}  // namespace lif_detail

// Forward over elements [begin, end) for one step. prev_* point at step t-1 (null for t = 0);
// leaving_z at step t-W (null for t < W, or without a cap). Writes v, z, a (if adaptive) and the
// open mask (if constrained) for step t; updates the per-element refractory counter and the
// cap's window count (spikes in [t-W+1, t-1]); a constrained population passes both counters.
// Outputs are assigned. `fire` is the forward spike function (surrogate.hpp).
template <typename Real, typename Fire>
inline void lif_forward_step(const LifConstants<Real>& k, const Fire& fire, std::size_t begin,
                             std::size_t end, const Real* current, const Real* prev_v,
                             const Real* prev_z, const Real* prev_a, const Real* leaving_z, Real* v,
                             Real* z, Real* a, std::uint8_t* mask, std::uint16_t* refractory_left,
                             std::uint16_t* window_count) {
  const lif_detail::ResetFactors<Real> reset(k.reset);
  const auto refractory = static_cast<std::uint16_t>(k.refractory_steps);
  const bool capped = k.cap_window > 0;
  // Without a cap the count stays 0 and never reaches the limit.
  const auto cap_limit = static_cast<std::uint16_t>(capped ? k.cap_spikes : 1);
  const auto cap_increment = static_cast<std::uint16_t>(capped ? 1 : 0);
  const auto body = [&](auto first, auto adaptive, auto constrained) {
    constexpr bool kFirst = decltype(first)::value;
    constexpr bool kAdaptive = decltype(adaptive)::value;
    constexpr bool kConstrained = decltype(constrained)::value;
    lif_detail::for_each_row_run(
        k.neurons, begin, end, [&](std::size_t e0, std::size_t j0, std::size_t n) {
          if constexpr (kConstrained) {
            // The spike at t-W leaves the window [t-W+1, t-1] (a separate pass keeps the main loop
            // free of the optional pointer).
            if (leaving_z) {
              std::uint16_t* count_row = window_count + e0;
              const Real* leaving = leaving_z + e0;
              for (std::size_t i = 0; i < n; ++i)
                count_row[i] =
                    static_cast<std::uint16_t>(count_row[i] - (leaving[i] >= Real{0.5} ? 1 : 0));
            }
          }
          lif_detail::forward_run<kFirst, kAdaptive, kConstrained, Real>(
              n, fire, k.rho, k.beta_a, reset.zero, reset.subtract, refractory, cap_limit,
              cap_increment, current + e0, kFirst ? nullptr : prev_v + e0,
              kFirst ? nullptr : prev_z + e0, kFirst || !kAdaptive ? nullptr : prev_a + e0,
              k.beta + j0, k.theta0 + j0, k.threshold_scale + j0, v + e0, z + e0,
              kAdaptive ? a + e0 : nullptr, kConstrained ? mask + e0 : nullptr,
              kConstrained ? refractory_left + e0 : nullptr,
              kConstrained ? window_count + e0 : nullptr);
        });
  };
  lif_detail::with_flags(body, prev_v == nullptr, k.adaptive, k.constrained());
}

// Backward over elements [begin, end) for step t. grad_z: dL/dz_t from outside, plus
// uniform_grad_z [N], a per-neuron term shared by every step and sample; writes
// grad_current (dL/dI_t, assigned; it may be grad_z itself, which is then overwritten element by
// element: grad_z must then point at writable memory); carries G_v, G_a in place; accumulates
// per-element
// contributions to dL/dbeta and dL/dtheta0 into grad_beta_elem / grad_theta_elem (+=, [B*N]).
template <typename Real, typename Spike>
inline void lif_backward_step(const LifConstants<Real>& k, const Spike& spike, std::size_t begin,
                              std::size_t end, const Real* grad_z, const Real* uniform_grad_z,
                              const Real* v, const Real* z, const Real* a, const std::uint8_t* mask,
                              const Real* prev_v, const Real* prev_z, Real* carry_v, Real* carry_a,
                              Real* grad_current, Real* grad_beta_elem, Real* grad_theta_elem) {
  const lif_detail::ResetFactors<Real> reset(k.reset);
  // The reset term's gradient path, cut with detach_reset.
  const Real reset_path = k.detach_reset ? Real{0} : Real{1};
  const bool learn = grad_beta_elem != nullptr || grad_theta_elem != nullptr;
  const bool in_place = grad_current == grad_z;
  const auto body = [&](auto adaptive, auto masked, auto learns) {
    constexpr bool kAdaptive = decltype(adaptive)::value;
    constexpr bool kMasked = decltype(masked)::value;
    constexpr bool kLearn = decltype(learns)::value;
    const auto run = [&](auto run_in_place, std::size_t e0, std::size_t j0, std::size_t n) {
      constexpr bool kInPlace = decltype(run_in_place)::value;
      lif_detail::backward_run<kAdaptive, kMasked, kLearn, kInPlace, Real>(
          n, spike, k.rho, k.beta_a, reset.zero, reset.subtract, reset_path,
          kInPlace ? nullptr : grad_z + e0, uniform_grad_z + j0, v + e0, z + e0,
          kAdaptive ? a + e0 : nullptr, kMasked ? mask + e0 : nullptr, k.beta + j0, k.theta0 + j0,
          k.threshold_scale + j0, prev_v ? prev_v + e0 : nullptr, prev_z ? prev_z + e0 : nullptr,
          carry_v + e0, kAdaptive ? carry_a + e0 : nullptr, grad_current + e0,
          grad_theta_elem ? grad_theta_elem + e0 : nullptr,
          grad_beta_elem ? grad_beta_elem + e0 : nullptr);
    };
    lif_detail::for_each_row_run(k.neurons, begin, end,
                                 [&](std::size_t e0, std::size_t j0, std::size_t n) {
                                   if (in_place) {
                                     run(std::true_type{}, e0, j0, n);
                                   } else {
                                     run(std::false_type{}, e0, j0, n);
                                   }
                                 });
  };
  lif_detail::with_flags(body, k.adaptive, mask != nullptr, learn);
}

// k-WTA over one sample's neurons [begin, begin + N) at step t: if more than `winners` fired,
// keeps the spikes of the `winners` neurons with the largest margin v - theta (ties: lower
// index) and closes the mask of the others. `order` is scratch (resized as needed).
template <typename Real>
inline void lif_k_winners(const LifConstants<Real>& k, std::size_t winners, std::size_t begin,
                          const Real* v, const Real* a, Real* z, std::uint8_t* mask,
                          std::vector<std::pair<Real, std::size_t>>& order) {
  // Most steps fire fewer than `winners` neurons: a vectorized count settles them without
  // building the ranking.
  const Real* __restrict row = z + begin;
  std::size_t fired = 0;
  for (std::size_t j = 0; j < k.neurons; ++j) fired += row[j] != Real{0} ? 1 : 0;
  if (fired <= winners) return;
  order.clear();
  for (std::size_t j = 0; j < k.neurons; ++j) {
    const std::size_t e = begin + j;
    if (z[e] != Real{0}) order.emplace_back(v[e] - k.threshold(j, a ? a[e] : Real{0}), j);
  }
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

// The lif model: the population's input is the membrane current I_t itself.
struct LifModel {
  static constexpr std::string_view kName = "lif";
  static constexpr std::string_view kSummary =
      "leaky integrate-and-fire; ALIF with adaptive = true";

  static void read_keys(const KeyReader& keys, NeuronSpec& spec) { read_neuron_keys(keys, spec); }

  static std::string rate_pass_obstacle(const NeuronSpec& spec) {
    if (spec.adaptive) return "has adaptive (ALIF) neurons";
    if (spec.refractory_steps > 0) return "has a refractory period";
    if (spec.learn_threshold != NeuronSpec::Learn::none ||
        spec.learn_decay != NeuronSpec::Learn::none) {
      return "learns its thresholds or decays";
    }
    return {};
  }

  // ALIF's threshold at 50% firing: theta0 + beta_a a with a = 1/2.
  static std::optional<LeakyIntegratorView> leaky_integrator(const NeuronSpec& spec) {
    return LeakyIntegratorView{
        spec.decay, spec.threshold + (spec.adaptive ? 0.5 * spec.adaptation_strength : 0.0),
        spec.reset, spec.adaptive};
  }

  // Nothing beyond the family's state.
  template <typename Real>
  struct State {
    explicit State(const NeuronSpec& /*spec*/) {}
    void begin_forward(std::size_t /*steps*/, std::size_t /*batch*/, std::size_t /*neurons*/) {}
    void begin_backward(std::size_t /*slice*/) {}
  };

  template <typename Real, typename Fire>
  static void forward_step(const LifConstants<Real>& k, const Fire& fire, State<Real>& /*state*/,
                           const ForwardStep<Real>& s) {
    lif_forward_step(k, fire, s.begin, s.end, s.input, s.prev_v, s.prev_z, s.prev_a, s.leaving_z,
                     s.v, s.z, s.a, s.mask, s.refractory_left, s.window_count);
  }

  template <typename Real, typename Spike>
  static void backward_step(const LifConstants<Real>& k, const Spike& spike, State<Real>& /*state*/,
                            const BackwardStep<Real>& s) {
    lif_backward_step(k, spike, s.begin, s.end, s.grad_z, s.uniform_grad_z, s.v, s.z, s.a, s.mask,
                      s.prev_v, s.prev_z, s.carry_v, s.carry_a, s.grad_input, s.grad_beta_elem,
                      s.grad_theta_elem);
  }

  // The rate pass's spike pass (train/rate_pass.hpp has the equations): the membrane as above
  // without adaptation or constraints, and its sensitivity eps_t = dv_t/dc to a constant input c.
  template <typename Real>
  static void rate_steps(const NeuronSpec& spec, std::size_t neurons, const RateSteps<Real>& r) {
    const std::size_t slice = r.batch * neurons;
    const std::size_t count = r.count;
    const Real subtract = spec.reset == ResetMode::subtract ? Real{1} : Real{0};
    const Real zero = spec.reset == ResetMode::zero ? Real{1} : Real{0};
    const Real reset_path = spec.detach_reset ? Real{0} : Real{1};
    const Real* theta = r.theta;
    const Real* beta = r.beta;
    const Real* in = r.input;
    Real* v = r.v;
    Real* z = r.z;
    Real* eps = r.eps;
    Real* slope = r.slope;
    Real* out = r.output;
    Real* rate = r.rate;
    Real* elig = r.elig;
    const std::size_t batch = r.batch;
    with_spike_function<Real>(spec.surrogate, [&](const auto& spike) {
    // One sample's neurons per thread, its steps in order: the state stays in [B, N].
#pragma omp parallel for schedule(static) if (count * slice >= kMinParallelWork)
      for (std::size_t b = 0; b < batch; ++b) {
        for (std::size_t t = 0; t < count; ++t) {
          for (std::size_t j = 0; j < neurons; ++j) {
            const std::size_t e = b * neurons + j;
            const std::size_t te = t * slice + e;
            const Real v_prev = v[e];
            const Real z_prev = z[e];
            const Real keep = beta[j] * (Real{1} - zero * z_prev);
            const Real v_now = keep * v_prev + in[te] - subtract * theta[j] * z_prev;
            const Real eps_now =
                Real{1} +
                eps[e] * (keep -
                          reset_path * (subtract * theta[j] + zero * beta[j] * v_prev) * slope[e]);
            const Real x = v_now - theta[j];
            const Real z_now = spike.fire(x);
            const Real s_now = spike.slope(x);
            v[e] = v_now;
            z[e] = z_now;
            eps[e] = eps_now;
            slope[e] = s_now;
            out[te] = z_now;
            rate[e] += z_now;
            elig[e] += eps_now * s_now;
          }
        }
      }
    });
  }
};

}  // namespace homeostat
