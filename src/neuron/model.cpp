#include "neuron/model.hpp"

#include <cmath>
#include <type_traits>

#include "common/error.hpp"

namespace homeostat {
namespace {

NeuronSpec::Learn read_learn(const KeyReader& keys, std::string_view key) {
  const std::string value = keys.choice(key, "none", {"none", "layer", "neuron"});
  if (value == "layer") return NeuronSpec::Learn::layer;
  if (value == "neuron") return NeuronSpec::Learn::neuron;
  return NeuronSpec::Learn::none;
}

void read_adaptation_keys(const KeyReader& keys, NeuronSpec& spec) {
  constexpr double kInf = KeyReader::kNoMax;
  spec.adaptive = keys.boolean("adaptive", false);
  if (keys.has("adaptation_tau") && keys.has("adaptation_decay")) {
    throw keys.error("adaptation_tau", "give either 'adaptation_decay' or 'adaptation_tau'");
  }
  spec.adaptation_decay = keys.has("adaptation_tau")
                              ? std::exp(-1.0 / keys.number("adaptation_tau", 200.0, 1e-6, kInf))
                              : keys.number("adaptation_decay", 0.95, 0.0, 1.0);
  spec.adaptation_strength = keys.number("adaptation_strength", 1.8, 0.0, kInf);
}

void read_surrogate_keys(const KeyReader& keys, SurrogateSpec& surrogate) {
  constexpr double kInf = KeyReader::kNoMax;
  const std::string kind = keys.choice("surrogate", "fast_sigmoid",
                                       {"fast_sigmoid", "q_tail", "sigmoid", "arctan", "triangular",
                                        "exponential", "gaussian", "rectangular"});
  surrogate.kind = parse_surrogate_kind(kind);
  surrogate.dampening = keys.number("dampening", 1.0, 0.0, kInf);
  surrogate.sharpness = keys.number("sharpness", 1.0, 1e-9, kInf);
  surrogate.tail = keys.number("tail", 2.0, 1.0 + 1e-9, kInf);
}

}  // namespace

void read_neuron_keys(const KeyReader& keys, NeuronSpec& spec) {
  constexpr double kInf = KeyReader::kNoMax;
  if (keys.has("tau") && keys.has("decay")) {
    throw keys.error("tau", "give either 'decay' (beta) or 'tau' (beta = exp(-1/tau)), not both");
  }
  if (keys.has("tau")) {
    spec.decay = std::exp(-1.0 / keys.number("tau", 20.0, 1e-6, kInf));
  } else {
    spec.decay = keys.number("decay", spec.decay, 0.0, 1.0);
  }
  spec.threshold = keys.number("threshold", spec.threshold, 1e-9, kInf);
  const std::string reset = keys.choice("reset", "subtract", {"subtract", "zero", "none"});
  spec.reset = reset == "subtract" ? ResetMode::subtract
               : reset == "zero"   ? ResetMode::zero
                                   : ResetMode::none;
  spec.detach_reset = keys.boolean("detach_reset", spec.detach_reset);
  spec.refractory_steps = static_cast<std::size_t>(keys.integer("refractory_steps", 0, 0, 60000));
  read_adaptation_keys(keys, spec);
  spec.learn_threshold = read_learn(keys, "learn_threshold");
  spec.learn_decay = read_learn(keys, "learn_decay");
  if (spec.learn_threshold != NeuronSpec::Learn::none && spec.threshold >= 1.0) {
    throw keys.error("threshold",
                     "a learnable threshold is tanh(w), so 'threshold' (its initial value) "
                     "must be below 1");
  }
  if (spec.learn_decay != NeuronSpec::Learn::none && (spec.decay <= 0.0 || spec.decay >= 1.0)) {
    throw keys.error("decay",
                     "a learnable decay is sigmoid(w): its initial value must be in (0, 1)");
  }
  read_surrogate_keys(keys, spec.surrogate);
}

const NeuronModel* find_neuron_model(std::string_view name) {
  for (const NeuronModel& model : neuron_models()) {
    if (model.name == name) return &model;
  }
  return nullptr;
}

std::string neuron_model_names() {
  std::string names;
  for (const NeuronModel& model : neuron_models()) {
    names += (names.empty() ? "" : ", ") + std::string(model.name);
  }
  return names;
}

const NeuronModel& neuron_model(std::string_view name) {
  if (const NeuronModel* model = find_neuron_model(name)) return *model;
  throw ConfigError("unknown neuron model '" + std::string(name) +
                    "' (valid: " + neuron_model_names() + ")");
}

template <typename Real>
std::unique_ptr<NeuronPopulation<Real>> make_population(const std::string& layer_name,
                                                        std::size_t neurons,
                                                        const NeuronSpec& spec) {
  const NeuronModel& model = neuron_model(spec.model);
  if constexpr (std::is_same_v<Real, float>) {
    return model.make_float(layer_name, neurons, spec);
  } else {
    return model.make_double(layer_name, neurons, spec);
  }
}

template std::unique_ptr<NeuronPopulation<float>> make_population(const std::string&, std::size_t,
                                                                  const NeuronSpec&);
template std::unique_ptr<NeuronPopulation<double>> make_population(const std::string&, std::size_t,
                                                                   const NeuronSpec&);

}  // namespace homeostat
