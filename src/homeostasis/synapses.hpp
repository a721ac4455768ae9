// Finding the synapses a weight-channel regulator acts on. A regulated layer either owns its
// synapses (dense, conv2d, recurrent) or is a spiking layer fed by one: then the synapses are
// those of the nearest layer before it that has any (skipping parameter-free layers and TEBN),
// as long as no other spiking layer lies in between.
#pragma once

#include <optional>
#include <span>
#include <vector>

#include "network/network.hpp"

namespace homeostat {

// The index of the layer whose synapses drive `layer`, or nullopt if there is none.
template <typename Real>
std::optional<std::size_t> synaptic_source(Network<Real>& network, std::size_t layer) {
  for (std::size_t i = layer + 1; i-- > 0;) {
    if (!network.layer(i).incoming_synapses().weights.empty()) return i;
    if (i != layer && network.layer(i).neurons() != nullptr) return std::nullopt;
  }
  return std::nullopt;
}

// Rates per synaptic unit from per-neuron rates: `units` contiguous groups of equal size
// (one neuron per unit for dense/recurrent, one channel's H x W neurons for conv). Empty if
// the sizes do not divide.
inline std::vector<double> unit_rates(std::span<const double> neuron_rates, std::size_t units) {
  if (units == 0 || neuron_rates.size() % units != 0) return {};
  const std::size_t group = neuron_rates.size() / units;
  std::vector<double> rates(units, 0.0);
  for (std::size_t u = 0; u < units; ++u) {
    for (std::size_t i = 0; i < group; ++i) rates[u] += neuron_rates[u * group + i];
    rates[u] /= static_cast<double>(group);
  }
  return rates;
}

}  // namespace homeostat
