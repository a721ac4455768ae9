// Spike rasters for reports: the (step, neuron) events of one sample, for the network's input
// and every spiking layer, as raster.json (the format io/report.hpp draws).
#pragma once

#include <nlohmann/json.hpp>

#include "network/network.hpp"

namespace homeostat {

// Events of sample `sample` in the last forward pass: {"time_steps", "layers": [{"name",
// "neurons", "spikes": [[t, i], ...]}]}; the input counts as a layer when it is binary (a spike
// code), and each layer keeps at most `max_events` events (with "truncated": true).
nlohmann::json spike_raster(const Network<float>& network, const Tensor<float>& input,
                            std::size_t sample, std::size_t max_events = 50000);

}  // namespace homeostat
