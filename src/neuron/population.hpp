// A population of N spiking neurons driven by an input [T, B, N]: the interface that spiking
// layers, regulators, metrics and trainers talk to, whatever the neuron model (neuron/model.hpp
// makes one from a NeuronSpec; ModelPopulation in model_population.hpp implements it for the
// LIF family). It keeps the channels that act on every model (threshold scale, firing
// constraints, the loss channel's per-neuron spike gradient); the model behind it owns its
// learnable parameters, the state its backward pass needs, and runs its kernels over time
// ranges. Feed-forward layers run all T steps in one call; recurrent layers call it step by step.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "neuron/neuron_spec.hpp"
#include "tensor/parameter.hpp"
#include "tensor/tensor.hpp"

namespace homeostat {

// One chunk of the rate pass's spike pass (train/rate_pass.hpp): `count` steps of `batch`
// samples. Per element of [B * N], the state v, z, eps (the membrane's sensitivity to a constant
// input) and slope (the surrogate slope) carries over from chunk to chunk, and rate, elig
// accumulate z_t and eps_t f'(v_t - theta); theta and beta are per neuron, [N].
template <typename Real>
struct RateSteps {
  std::size_t batch;
  std::size_t count;
  const Real* input;  // [count, B, N]
  Real* output;       // [count, B, N] spikes (assigned)
  Real* v;
  Real* z;
  Real* eps;
  Real* slope;
  const Real* theta;
  const Real* beta;
  Real* rate;
  Real* elig;
};

template <typename Real>
class NeuronPopulation {
 public:
  NeuronPopulation(NeuronSpec spec, std::size_t neurons);
  virtual ~NeuronPopulation() = default;
  NeuronPopulation(const NeuronPopulation&) = delete;
  NeuronPopulation& operator=(const NeuronPopulation&) = delete;
  NeuronPopulation(NeuronPopulation&&) = delete;
  NeuronPopulation& operator=(NeuronPopulation&&) = delete;

  [[nodiscard]] const NeuronSpec& spec() const { return spec_; }
  [[nodiscard]] std::size_t size() const { return neurons_; }
  virtual std::vector<Parameter<Real>*> parameters() = 0;

  // Threshold channel (regulators), not differentiated: every threshold is multiplied by the
  // layer scale (AHSAR) times its neuron's scale (adaptive threshold / intrinsic plasticity).
  void set_threshold_scale(double scale) { threshold_scale_ = scale; }
  [[nodiscard]] double threshold_scale() const { return threshold_scale_; }
  // [N] per-neuron scales, 1 by default; writable by regulators.
  [[nodiscard]] std::vector<double>& neuron_threshold_scales() { return neuron_scale_; }
  [[nodiscard]] const std::vector<double>& neuron_threshold_scales() const { return neuron_scale_; }
  // Mean effective scale over neurons (layer scale x neuron scale), for metrics.
  [[nodiscard]] double mean_threshold_scale() const;

  // Constraint channel: hard limits on spike generation, forward and backward alike.
  struct Constraints {
    std::size_t refractory_steps = 0;  // combined with the neuron spec's: the larger wins
    std::size_t cap_spikes = 0;        // at most cap_spikes spikes in any cap_window steps
    std::size_t cap_window = 0;        // 0: no firing cap
    std::size_t winners = 0;           // k-WTA per sample and step; 0: off
  };
  void set_constraints(const Constraints& constraints) { constraints_ = constraints; }
  [[nodiscard]] const Constraints& constraints() const { return constraints_; }
  // Effective per-neuron base threshold theta0_j and membrane decay beta_j (after tanh/sigmoid).
  [[nodiscard]] virtual Real base_threshold(std::size_t neuron) const = 0;
  [[nodiscard]] virtual Real decay(std::size_t neuron) const = 0;

  // Sizes the state for T steps of a batch of B and refreshes the per-neuron constants.
  virtual void begin_forward(std::size_t steps, std::size_t batch) = 0;
  // Runs steps [t_begin, t_end) on input [T, B, N]; writes spikes [T, B, N] (assigned).
  virtual void forward_steps(const Tensor<Real>& input, Tensor<Real>& spikes, std::size_t t_begin,
                             std::size_t t_end) = 0;
  // Backward: call begin_backward once, backward_steps for ranges from the end of time to the
  // start (each range is processed in reverse), then finish_backward to add parameter gradients.
  // grad_input (dL/d input, assigned) may be grad_spikes itself (then overwritten).
  virtual void begin_backward() = 0;
  virtual void backward_steps(const Tensor<Real>& spikes, const Tensor<Real>& grad_spikes,
                              Tensor<Real>& grad_input, std::size_t t_begin, std::size_t t_end) = 0;
  virtual void finish_backward() = 0;

  // [N] gradient added to dL/dz_t of every step and sample in the backward pass (the loss
  // channel's rate penalties; Network::backward fills it). Zero by default.
  [[nodiscard]] std::vector<Real>& uniform_spike_gradient() { return uniform_spike_gradient_; }

  // Membrane potential v_t of the last forward pass, [T, B, N].
  [[nodiscard]] virtual const Tensor<Real>& membrane() const = 0;

  // Rate-based training (train/rate_pass.hpp): why these neurons cannot run it ("has ..."), or
  // empty; where empty, rate_steps runs one chunk of its spike pass.
  [[nodiscard]] virtual std::string rate_pass_obstacle() const = 0;
  virtual void rate_steps(const RateSteps<Real>& steps) = 0;

 private:
  NeuronSpec spec_;
  std::size_t neurons_;
  double threshold_scale_ = 1.0;
  std::vector<double> neuron_scale_;  // [N]
  Constraints constraints_;
  std::vector<Real> uniform_spike_gradient_;  // [N]
};

}  // namespace homeostat
