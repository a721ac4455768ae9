#include "report/raster.hpp"

namespace homeostat {
namespace {

// Appends the non-zero entries of sample `sample` of x [T, B, ...] as [t, i] pairs.
nlohmann::json layer_events(const std::string& name, const Tensor<float>& x, std::size_t sample,
                            std::size_t max_events) {
  const std::size_t steps = x.dim(0);
  const std::size_t batch = x.dim(1);
  const std::size_t neurons = x.size() / (steps * batch);
  nlohmann::json spikes = nlohmann::json::array();
  bool truncated = false;
  for (std::size_t t = 0; t < steps && !truncated; ++t) {
    const float* row = x.data() + (t * batch + sample) * neurons;
    for (std::size_t i = 0; i < neurons; ++i) {
      if (row[i] == 0.0f) continue;
      if (spikes.size() >= max_events) {
        truncated = true;
        break;
      }
      spikes.push_back({t, i});
    }
  }
  nlohmann::json layer = {{"name", name}, {"neurons", neurons}, {"spikes", spikes}};
  if (truncated) layer["truncated"] = true;
  return layer;
}

bool binary(const Tensor<float>& x) {
  for (std::size_t i = 0; i < x.size(); ++i) {
    if (x[i] != 0.0f && x[i] != 1.0f) return false;
  }
  return true;
}

}  // namespace

nlohmann::json spike_raster(const Network<float>& network, const Tensor<float>& input,
                            std::size_t sample, std::size_t max_events) {
  nlohmann::json layers = nlohmann::json::array();
  if (binary(input)) layers.push_back(layer_events("input", input, sample, max_events));
  for (const std::size_t index : network.spiking_layers()) {
    layers.push_back(
        layer_events(network.layer(index).name(), network.output(index), sample, max_events));
  }
  return {{"time_steps", input.dim(0)}, {"layers", layers}};
}

}  // namespace homeostat
