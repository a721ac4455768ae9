#include "metrics/activity.hpp"

#include "tensor/parallel.hpp"

namespace homeostat {

template <typename Real>
ActivityMonitor<Real>::ActivityMonitor(const Network<Real>& network)
    : layers_(network.spiking_layers()) {
  for (const std::size_t i : layers_) {
    names_.push_back(network.layer(i).name());
    neuron_spikes_.emplace_back(shape_size(network.layer(i).output_shape()), 0.0);
  }
  step_samples_.assign(layers_.size(), 0.0);
}

template <typename Real>
void ActivityMonitor<Real>::reset() {
  for (auto& sums : neuron_spikes_) std::fill(sums.begin(), sums.end(), 0.0);
  std::fill(step_samples_.begin(), step_samples_.end(), 0.0);
}

template <typename Real>
void ActivityMonitor<Real>::observe(const Network<Real>& network) {
  for (std::size_t k = 0; k < layers_.size(); ++k) {
    const Tensor<Real>& spikes = network.output(layers_[k]);
    std::vector<double>& sums = neuron_spikes_[k];
    const std::size_t neurons = sums.size();
    const std::size_t rows = spikes.size() / neurons;  // T * B
#pragma omp parallel for schedule(static) if (spikes.size() >= kMinParallelWork)
    for (std::size_t j = 0; j < neurons; ++j) {
      double count = 0.0;
      for (std::size_t r = 0; r < rows; ++r) count += static_cast<double>(spikes[r * neurons + j]);
      sums[j] += count;
    }
    step_samples_[k] += static_cast<double>(rows);
  }
}

template <typename Real>
std::vector<LayerActivity> ActivityMonitor<Real>::summary() const {
  std::vector<LayerActivity> result;
  for (std::size_t k = 0; k < layers_.size(); ++k) {
    LayerActivity activity;
    activity.name = names_[k];
    const std::vector<double>& sums = neuron_spikes_[k];
    const double windows = step_samples_[k];
    if (windows > 0 && !sums.empty()) {
      double total = 0.0;
      std::size_t dead = 0;
      std::size_t saturated = 0;
      for (const double s : sums) {
        total += s;
        if (s == 0.0) ++dead;
        if (s / windows > 0.9) ++saturated;
      }
      const auto neurons = static_cast<double>(sums.size());
      activity.rate = total / (windows * neurons);
      activity.dead_fraction = static_cast<double>(dead) / neurons;
      activity.saturated_fraction = static_cast<double>(saturated) / neurons;
    }
    result.push_back(activity);
  }
  return result;
}

template class ActivityMonitor<float>;
template class ActivityMonitor<double>;

}  // namespace homeostat
