// What a population's neurons are: the neuron model's name and its parameters, built from the
// config (each model reads its own keys, neuron/model.hpp) and validated there.
#pragma once

#include <cstddef>
#include <functional>
#include <map>
#include <string>
#include <string_view>

#include "neuron/surrogate.hpp"

namespace homeostat {

enum class ResetMode { subtract, zero, none };

struct NeuronSpec {
  // The parameters of the LIF family, which every model in neuron/models.cpp shares (lif.hpp has
  // their equations; read_neuron_keys reads them).
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

  // The model: a name from the model table (neuron/models.cpp), and the parameters of its own
  // that the family's do not cover, by key (cuba_lif: "synaptic_decay"); its key reader writes
  // them, its header names them and gives their defaults.
  std::string model = "lif";
  std::map<std::string, double, std::less<>> model_parameters;

  // A model parameter, or `fallback` where it was not set.
  [[nodiscard]] double parameter(std::string_view key, double fallback) const {
    const auto found = model_parameters.find(key);
    return found == model_parameters.end() ? fallback : found->second;
  }
};

}  // namespace homeostat
