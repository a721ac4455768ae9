// The neuron-model seam. A neuron model is one header (lif.hpp, cuba_lif.hpp: its equations,
// forward and backward step kernels, parameters and key reader) and one line in the model table
// (neuron/models.cpp). Everything above neuron/ reaches a model through this header and
// population.hpp: a NeuronSpec names the model, the table finds it by name, and the population
// it makes is a NeuronPopulation (the interface spiking layers, regulators, metrics and trainers
// use). docs/extending.md walks through adding one.
//
// A model of the LIF family (its threshold, reset, adaptation, firing constraints, learnable
// threshold and decay are lif.hpp's) runs in ModelPopulation (neuron/model_population.hpp),
// which owns the state every such model has and calls the model's step kernels once per step and
// block of neurons, with the model's type known at compile time (no virtual call per neuron or
// step). Its contract, as a struct `M` with static members:
//   kName, kSummary                        std::string_view: the config name, a one-line summary
//   read_keys(const KeyReader&, NeuronSpec&)  reads the model's keys (read_neuron_keys for the
//                                          family's, then its own into spec.model_parameters)
//   rate_pass_obstacle(const NeuronSpec&)  std::string: why the rate pass cannot train it, or ""
//   leaky_integrator(const NeuronSpec&)    std::optional<LeakyIntegratorView>: the advisor's view
//   template <Real> struct State           the model's own state: State(const NeuronSpec&),
//                                          begin_forward(T, B, N), begin_backward(B * N)
//   forward_step(LifConstants, fire, State&, const ForwardStep&)      step t, elements [b, e)
//   backward_step(LifConstants, spike, State&, const BackwardStep&)   step t, reverse time
//   rate_steps(const NeuronSpec&, N, const RateSteps&)   optional: the rate pass's spike pass
// A model outside the family implements NeuronPopulation directly and adds a table entry with
// its own factories.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/key_reader.hpp"
#include "neuron/neuron_spec.hpp"
#include "neuron/population.hpp"

namespace homeostat {

// The neuron as the stability advisor's conditions see it (studies/advisor.hpp): a leaky
// integrator with decay alpha, a reset mode and an effective threshold (ALIF: theta0 + beta_a / 2).
struct LeakyIntegratorView {
  double decay = 0.0;
  double threshold = 0.0;
  ResetMode reset = ResetMode::subtract;
  bool adaptive = false;
};

// One entry of the model table.
struct NeuronModel {
  std::string_view name;  // `kind` of a feed-forward spiking layer, `neuron` of a recurrent one
  std::string_view summary;
  void (*read_keys)(const KeyReader& keys, NeuronSpec& spec);
  // Why train.method = "rate" cannot train these neurons ("has ..."), or empty.
  std::string (*rate_pass_obstacle)(const NeuronSpec& spec);
  // Empty where the advisor's leaky-integrator conditions do not describe the model.
  std::optional<LeakyIntegratorView> (*leaky_integrator)(const NeuronSpec& spec);
  std::unique_ptr<NeuronPopulation<float>> (*make_float)(const std::string& layer_name,
                                                         std::size_t neurons,
                                                         const NeuronSpec& spec);
  std::unique_ptr<NeuronPopulation<double>> (*make_double)(const std::string& layer_name,
                                                           std::size_t neurons,
                                                           const NeuronSpec& spec);
};

// The model table (neuron/models.cpp), in the order the names are listed in messages.
const std::vector<NeuronModel>& neuron_models();
// The entry named `name`, or nullptr.
const NeuronModel* find_neuron_model(std::string_view name);
// The entry named `name`; ConfigError listing the known names.
const NeuronModel& neuron_model(std::string_view name);
// "lif, cuba_lif": the names for messages.
std::string neuron_model_names();

// The population of `neurons` neurons of spec.model for the layer `layer_name` (parameter names
// are "<layer_name>.threshold" and "<layer_name>.decay").
template <typename Real>
std::unique_ptr<NeuronPopulation<Real>> make_population(const std::string& layer_name,
                                                        std::size_t neurons,
                                                        const NeuronSpec& spec);

// Reads the LIF family's keys into `spec` (every model's reader calls it): decay or tau,
// threshold, reset, detach_reset, refractory_steps, adaptive, adaptation_decay or adaptation_tau,
// adaptation_strength, learn_threshold, learn_decay, surrogate, dampening, sharpness, tail.
void read_neuron_keys(const KeyReader& keys, NeuronSpec& spec);

// What ModelPopulation hands a model's forward kernel for step t: elements [begin, end) of the
// [B * N] slice; every pointer is at its step's slice (prev_*: step t-1, null at t = 0;
// leaving_z: step t-W under a firing cap, else null); a, prev_a only with adaptation, mask and
// the counters only when constrained (else null).
template <typename Real>
struct ForwardStep {
  std::size_t t, slice, begin, end;
  const Real* input;  // the population's input at t, [B * N]
  const Real* prev_v;
  const Real* prev_z;
  const Real* prev_a;
  const Real* leaving_z;
  Real* v;
  Real* z;
  Real* a;
  std::uint8_t* mask;
  std::uint16_t* refractory_left;  // [B * N], not per step
  std::uint16_t* window_count;     // [B * N], not per step
};

// The same for the backward kernel of step t (called in reverse time): grad_z is dL/dz_t from
// outside, uniform_grad_z [N] a per-neuron term added at every step; carry_v, carry_a are the
// carries dL/dv_{t+1}, dL/da_{t+1} ([B * N], updated in place); grad_input (dL/d input_t,
// assigned) may be grad_z itself; grad_beta_elem, grad_theta_elem ([B * N], +=) are null unless
// the decay or the threshold is learned.
template <typename Real>
struct BackwardStep {
  std::size_t t, slice, begin, end;
  const Real* grad_z;
  const Real* uniform_grad_z;
  const Real* v;
  const Real* z;
  const Real* a;
  const std::uint8_t* mask;
  const Real* prev_v;
  const Real* prev_z;
  Real* carry_v;
  Real* carry_a;
  Real* grad_input;
  Real* grad_beta_elem;
  Real* grad_theta_elem;
};

}  // namespace homeostat
