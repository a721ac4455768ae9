// The spike rates of one forward pass, per spiking layer: what the activity monitor records and
// what regulators read. Lives in metrics/ because it is a measurement; homeostasis/ reads it.
#pragma once

#include <cstddef>
#include <vector>

namespace homeostat {

// Spike rates of the last forward pass, for every spiking layer of the network.
struct BatchActivity {
  std::vector<std::size_t> layers;                // network layer indices
  std::vector<double> rates;                      // per layer: mean over (T, B, neurons)
  std::vector<std::vector<double>> neuron_rates;  // per layer, per neuron: mean over (T, B)
  std::size_t steps = 0;                          // T
  std::size_t samples = 0;                        // B
  // Slot of network layer `layer` in the vectors above; std::out_of_range if not spiking.
  [[nodiscard]] std::size_t slot(std::size_t layer) const;
};

}  // namespace homeostat
