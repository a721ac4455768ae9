#include "homeostasis/homeostasis.hpp"

#include <algorithm>
#include <cstdio>
#include <stdexcept>

namespace homeostat {

template <typename Real>
std::vector<std::size_t> resolve_regulator_layers(const RegulatorSpec& spec,
                                                  Network<Real>& network) {
  const RegulatorKind* kind = find_regulator_kind(spec.kind);
  if (!kind) throw std::invalid_argument("unknown regulator kind '" + spec.kind + "'");
  const bool weights = kind->channel == RegulatorChannel::weights;
  if (spec.layers.empty()) return network.spiking_layers();
  std::vector<std::size_t> indices;
  for (const std::string& name : spec.layers) {
    std::size_t found = network.layer_count();
    for (std::size_t i = 0; i < network.layer_count(); ++i) {
      if (network.layer(i).name() == name) found = i;
    }
    if (found == network.layer_count()) {
      throw std::invalid_argument("no layer named '" + name + "'");
    }
    Layer<Real>& layer = network.layer(found);
    const bool spiking = layer.neurons() != nullptr;
    const bool synaptic = !layer.incoming_synapses().weights.empty();
    if (weights ? !(spiking || synaptic) : !spiking) {
      throw std::invalid_argument("layer '" + name + "' (" + std::string(layer.kind()) +
                                  ") has no " + (weights ? "synapses" : "spiking neurons") +
                                  " for " + spec.kind + " to act on");
    }
    indices.push_back(found);
  }
  return indices;
}

template <typename Real>
Homeostasis<Real>::Homeostasis(const std::vector<RegulatorSpec>& specs, Network<Real>& network) {
  for (const RegulatorSpec& spec : specs) {
    regulators_.push_back(make_regulator<Real>(spec, resolve_regulator_layers(spec, network)));
    const std::vector<RegulatorChannel> channels = regulators_.back()->channels();
    has_loss_ = has_loss_ || std::find(channels.begin(), channels.end(), RegulatorChannel::loss) !=
                                 channels.end();
    regulators_.back()->attach(network);
  }
}

template <typename Real>
void Homeostasis<Real>::after_forward(Network<Real>& network, const BatchActivity& activity,
                                      const TrainingClock& clock) {
  for (const auto& r : regulators_) r->after_forward(network, activity, clock);
}

template <typename Real>
double Homeostasis<Real>::penalty(const BatchActivity& activity, const TrainingClock& clock) {
  double total = 0.0;
  for (const auto& r : regulators_) total += r->penalty(activity, clock);
  return total;
}

template <typename Real>
typename Network<Real>::SpikeGradientHook Homeostasis<Real>::gradient_hook() const {
  if (!has_loss_) return {};
  return [this](std::size_t layer, std::span<Real> per_neuron) {
    for (const auto& r : regulators_) r->add_spike_gradient(layer, per_neuron);
  };
}

template <typename Real>
void Homeostasis<Real>::after_update(Network<Real>& network, const BatchActivity& activity,
                                     const TrainingClock& clock) {
  for (const auto& r : regulators_) r->after_update(network, activity, clock);
}

template <typename Real>
void Homeostasis<Real>::end_epoch(Network<Real>& network, const EpochSignals& signals) {
  for (const auto& r : regulators_) r->end_epoch(network, signals);
}

template <typename Real>
std::map<std::string, std::pair<double, double>> Homeostasis<Real>::bands(
    const Network<Real>& network) const {
  std::map<std::string, std::pair<double, double>> result;
  for (const auto& r : regulators_) {
    const auto band = r->band();
    if (!band) continue;
    for (const std::size_t layer : r->layers()) {
      const std::string& name = network.layer(layer).name();
      const auto [it, inserted] = result.emplace(name, *band);
      if (!inserted) {
        it->second.first = std::max(it->second.first, band->first);
        it->second.second = std::min(it->second.second, band->second);
        if (it->second.first > it->second.second) std::swap(it->second.first, it->second.second);
      }
    }
  }
  return result;
}

template <typename Real>
nlohmann::json Homeostasis<Real>::save_state() const {
  nlohmann::json list = nlohmann::json::array();
  for (const auto& r : regulators_)
    list.push_back({{"kind", r->kind()}, {"state", r->save_state()}});
  return list;
}

template <typename Real>
void Homeostasis<Real>::load_state(const nlohmann::json& state, Network<Real>& network) {
  if (!state.is_array() || state.size() != regulators_.size()) {
    if (!regulators_.empty()) {
      std::fprintf(stderr,
                   "warning: the checkpoint's regulator state does not match the config's "
                   "[[homeostasis]] list; regulators start fresh\n");
    }
    return;
  }
  for (std::size_t i = 0; i < regulators_.size(); ++i) {
    if (state[i].value("kind", "") != regulators_[i]->kind()) {
      std::fprintf(stderr,
                   "warning: regulator %zu changed kind since the checkpoint; it starts "
                   "fresh\n",
                   i);
      continue;
    }
    const nlohmann::json& saved = state[i].at("state");
    if (!saved.is_null()) regulators_[i]->load_state(saved, network);
  }
}

template <typename Real>
nlohmann::json Homeostasis<Real>::describe(const Network<Real>& network) const {
  nlohmann::json list = nlohmann::json::array();
  for (const auto& r : regulators_) {
    nlohmann::json entry = r->describe();
    entry["kind"] = r->kind();
    nlohmann::json names = nlohmann::json::array();
    for (const std::size_t layer : r->layers()) names.push_back(network.layer(layer).name());
    entry["layers"] = names;
    list.push_back(entry);
  }
  return list;
}

template std::vector<std::size_t> resolve_regulator_layers<float>(const RegulatorSpec&,
                                                                  Network<float>&);
template std::vector<std::size_t> resolve_regulator_layers<double>(const RegulatorSpec&,
                                                                   Network<double>&);
template class Homeostasis<float>;
template class Homeostasis<double>;

}  // namespace homeostat
