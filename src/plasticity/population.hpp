// A population of the local-learning simulator: either Poisson inputs (a rate per neuron) or
// leaky integrate-and-fire neurons in biological units (ms, mV):
//   tau_m dv/dt = (v_rest - v) + ge (E_exc - v) + gi (E_inh - v) - a      (conductance synapses)
//   tau_m dv/dt = (v_rest - v) + ge - gi - a                              (current synapses, mV)
// ge, gi decay with tau_exc, tau_inh and jump by the weight of each arriving spike; a is a
// spike-frequency adaptation current (a += adapt_delta per spike, decays with tau_adapt). The
// threshold is v_th + theta with Diehl & Cook's adaptive theta (theta += theta_plus per spike,
// decays with tau_theta, frozen when threshold adaptation is off). After a spike v = v_reset and
// the neuron is refractory (v held, no spike) for refractory_ms. Membrane noise is an
// Ornstein-Uhlenbeck term with stationary standard deviation noise_mv. Integration is exponential
// Euler per step (exact for v with the conductances of the step's start; forward Euler is
// unstable for W4's inhibitory volleys).
// Poisson inputs draw geometric inter-spike intervals (one draw per spike, exactly a per-step
// Bernoulli(rate dt) process) from CounterRng keyed by (seed, population, step, neuron).
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <span>
#include <string>
#include <utility>
#include <vector>

namespace homeostat {

enum class SynapseModel { current, conductance };

struct LifParams {
  double v_rest = -65.0;  // mV
  double v_reset = -65.0;
  double v_th = -52.0;
  double v_init = -65.0;       // initial membrane potential
  double tau_m = 100.0;        // ms
  double refractory_ms = 5.0;  // ms
  // true (Brian2): the spike's own step counts, a neuron that fires at step s integrates again
  // at s + refractory_ms / dt; false: v is held for refractory_ms / dt steps after the spike.
  bool refractory_includes_spike_step = false;
  SynapseModel synapses = SynapseModel::conductance;
  double tau_exc = 1.0;  // ms
  double tau_inh = 2.0;  // ms
  double e_exc = 0.0;    // mV (conductance synapses)
  double e_inh = -100.0;
  double noise_mv = 0.0;     // stationary sd of the membrane noise
  double theta_plus = 0.0;   // mV per spike
  double tau_theta = 1e7;    // ms
  double adapt_delta = 0.0;  // mV per spike
  double tau_adapt = 100.0;  // ms
  std::size_t k_wta = 0;     // > 0: at most k spikes per step, the k most depolarized (k-WTA)
  double v_min = -std::numeric_limits<double>::infinity();  // clamp of v
  double v_max = std::numeric_limits<double>::infinity();
};

class Population {
 public:
  // Leaky integrate-and-fire neurons.
  Population(std::string name, std::size_t size, const LifParams& params);
  // Poisson inputs (rates 0 until set_rates).
  static Population poisson(std::string name, std::size_t size);

  [[nodiscard]] const std::string& name() const { return name_; }
  [[nodiscard]] std::size_t size() const { return size_; }
  [[nodiscard]] bool is_input() const { return input_; }
  [[nodiscard]] const LifParams& params() const { return params_; }
  void set_noise(double noise_mv) { params_.noise_mv = noise_mv; }  // e.g. for sleep

  // Poisson: sets the rates (Hz) from step `step` on (dt in ms).
  void set_rates(std::span<const float> rates_hz, std::uint64_t step, double dt, std::uint64_t seed,
                 std::size_t population_index);
  void silence();  // Poisson: all rates 0
  // LIF: copies the state (v, ge, gi, theta, adapt, refractory) of a population of the same
  // size; Poisson: silence(). No allocation.
  void copy_state(const Population& other);
  // LIF: v = v_rest, no synaptic input or adaptation, not refractory (theta stays).
  void to_rest();

  // Advances one step: integrates (LIF) and writes the indices of the neurons that spike at
  // `step` to `spikes` (capacity size()); returns how many. No allocation.
  std::size_t step(std::uint64_t step, double dt, bool adapt_threshold, std::uint64_t seed,
                   std::size_t population_index, std::uint32_t* spikes);

  // Whether the population is quiescent: no input drive, no noise, synaptic input and adaptation
  // below `epsilon`; then `relax` may replace `steps` steps by their closed form.
  [[nodiscard]] bool quiescent(double epsilon) const;
  void relax(std::size_t steps, double dt, bool adapt_threshold);

  // LIF state (time constants are applied per step; arrays of size()).
  std::vector<float> v, ge, gi, adapt;
  // The adaptive threshold (mV) in double: W4's per-step decay exp(-dt / tau_theta) = 1 - 5e-8 is
  // below float's resolution (a float theta lost one ulp a step, decaying about twice as fast).
  std::vector<double> theta;
  std::vector<std::uint32_t> refractory;  // steps left
  // Poisson state.
  std::vector<float> rates_hz;
  std::vector<std::uint64_t> next_spike;  // step of the next spike, kNever if silent

  static constexpr std::uint64_t kNever = std::numeric_limits<std::uint64_t>::max();

 private:
  Population(std::string name, std::size_t size, bool input, const LifParams& params);
  // The steps of step(). Poisson: the spikes due now, each drawing its next one.
  std::size_t emit_poisson(std::uint64_t step, std::uint64_t seed, std::size_t population_index,
                           std::uint32_t* spikes);
  // LIF: the membranes move toward their steady state (v outside the refractory period), the
  // synaptic conductances and the adaptation decay.
  void integrate(double dt);
  // LIF: membrane noise of noise_mv (outside the refractory period).
  void add_noise(std::uint64_t step, double dt, std::uint64_t seed, std::size_t population_index);
  // LIF: theta decays; the neurons above v_th + theta and not refractory go to `spikes` (in index
  // order); the refractory counters count down. Returns how many fired.
  std::size_t cross_thresholds(double dt, bool adapt_threshold, std::uint32_t* spikes);
  // k-WTA: of `count` spikes keeps the k_wta most depolarized, in index order; returns k_wta.
  std::size_t keep_most_depolarized(std::size_t count, std::uint32_t* spikes);
  // The fired neurons: reset, theta and adaptation raised, refractory.
  void reset_fired(double dt, bool adapt_threshold, std::size_t count, const std::uint32_t* spikes);
  std::string name_;
  std::size_t size_;
  bool input_;
  LifParams params_;
  std::vector<double> probability_;  // Poisson: spike probability per step, log1p(-probability)
  std::vector<double> log_q_;
  std::vector<std::pair<float, std::uint32_t>> candidates_;  // k-WTA scratch
  std::vector<std::uint8_t> fired_;                          // threshold scratch
  // Poisson: a calendar of the next spikes, bucket = step % kBuckets.
  static constexpr std::size_t kBuckets = 1024;
  void schedule(std::uint32_t i);
  std::vector<std::vector<std::uint32_t>> buckets_;
  std::vector<std::uint32_t> due_;
};

// exp(x) for x <= 0 in float, branch-free and vectorizable (relative error < 2e-7).
float fast_exp_nonpositive(float x);

}  // namespace homeostat
