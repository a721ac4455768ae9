// A population of N LIF/ALIF neurons driven by an input current [T, B, N]: owns the learnable
// neuron parameters, the state the backward pass needs (membrane, adaptation, refractory mask),
// and runs the kernels of lif.hpp over time ranges, parallel over B*N with OpenMP.
// Feed-forward layers run all T steps in one call; recurrent layers call it step by step.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "neuron/lif.hpp"
#include "tensor/parameter.hpp"
#include "tensor/tensor.hpp"

namespace homeostat {

template <typename Real>
class NeuronPopulation {
 public:
  NeuronPopulation(const std::string& layer_name, std::size_t neurons, const NeuronSpec& spec);

  [[nodiscard]] const NeuronSpec& spec() const { return spec_; }
  [[nodiscard]] std::size_t size() const { return neurons_; }
  std::vector<Parameter<Real>*> parameters();

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
  // Effective per-neuron base threshold theta0_j and decay beta_j (after tanh/sigmoid).
  [[nodiscard]] Real base_threshold(std::size_t neuron) const;
  [[nodiscard]] Real decay(std::size_t neuron) const;

  // Sizes the state for T steps of a batch of B and refreshes the per-neuron constants.
  void begin_forward(std::size_t steps, std::size_t batch);
  // Runs steps [t_begin, t_end) on current [T, B, N]; writes spikes [T, B, N] (assigned).
  void forward_steps(const Tensor<Real>& current, Tensor<Real>& spikes, std::size_t t_begin,
                     std::size_t t_end);
  // Backward: call begin_backward once, backward_steps for ranges from the end of time to the
  // start (each range is processed in reverse), then finish_backward to add parameter gradients.
  void begin_backward();
  void backward_steps(const Tensor<Real>& spikes, const Tensor<Real>& grad_spikes,
                      Tensor<Real>& grad_current, std::size_t t_begin, std::size_t t_end);
  void finish_backward();

  // [N] gradient added to dL/dz_t of every step and sample in the backward pass (the loss
  // channel's rate penalties; Network::backward fills it). Zero by default.
  [[nodiscard]] std::vector<Real>& uniform_spike_gradient() { return uniform_spike_gradient_; }

  // Membrane potential v_t of the last forward pass, [T, B, N].
  [[nodiscard]] const Tensor<Real>& membrane() const { return membrane_; }

 private:
  LifConstants<Real> constants() const;
  void refresh_constants();

  NeuronSpec spec_;
  std::size_t neurons_;
  double threshold_scale_ = 1.0;
  std::vector<double> neuron_scale_;  // [N]
  std::vector<Real> scale_;           // [N] threshold_scale_ x neuron_scale_, as the kernels use
  Constraints constraints_;
  std::optional<Parameter<Real>> threshold_param_;  // w, theta0 = tanh(w): [1] or [N]
  std::optional<Parameter<Real>> decay_param_;      // w, beta = sigmoid(w): [1] or [N]
  std::vector<Real> theta0_;                        // [N]
  std::vector<Real> beta_;                          // [N]
  std::vector<Real> uniform_spike_gradient_;        // [N]

  std::size_t steps_ = 0;
  std::size_t batch_ = 0;
  Tensor<Real> membrane_;                               // [T, B, N]
  Tensor<Real> adaptation_;                             // [T, B, N], ALIF only
  std::vector<std::uint8_t> open_mask_;                 // [T*B*N], constrained only
  std::vector<std::uint16_t> refractory_left_;          // [B*N]
  std::vector<std::uint16_t> window_count_;             // [B*N], constrained only
  std::vector<Real> carry_v_, carry_a_;                 // [B*N]
  std::vector<Real> grad_beta_elem_, grad_theta_elem_;  // [B*N]
};

}  // namespace homeostat
