#include "metrics/activity.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

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
  // Neurons in blocks, rows (t, b) inner: contiguous reads, one writer per neuron.
  constexpr std::size_t kNeuronBlock = 256;
  last_batch_.layers = layers_;
  last_batch_.rates.resize(layers_.size());
  last_batch_.neuron_rates.resize(layers_.size());
  for (std::size_t k = 0; k < layers_.size(); ++k) {
    const Tensor<Real>& spikes = network.output(layers_[k]);
    std::vector<double>& sums = neuron_spikes_[k];
    std::vector<double>& batch_rates = last_batch_.neuron_rates[k];
    const std::size_t neurons = sums.size();
    const std::size_t rows = spikes.size() / neurons;  // T * B
    batch_rates.assign(neurons, 0.0);
    const std::size_t blocks = (neurons + kNeuronBlock - 1) / kNeuronBlock;
    const Real* z = spikes.data();
#pragma omp parallel for schedule(static) if (spikes.size() >= kMinParallelWork)
    for (std::size_t block = 0; block < blocks; ++block) {
      const std::size_t begin = block * kNeuronBlock;
      const std::size_t end = std::min(neurons, begin + kNeuronBlock);
      Real counts[kNeuronBlock] = {};
      for (std::size_t r = 0; r < rows; ++r) {
        const Real* row = z + r * neurons;
        for (std::size_t j = begin; j < end; ++j) counts[j - begin] += row[j];
      }
      for (std::size_t j = begin; j < end; ++j) {
        const auto count = static_cast<double>(counts[j - begin]);
        sums[j] += count;
        batch_rates[j] = rows ? count / static_cast<double>(rows) : 0.0;
      }
    }
    double total = 0.0;
    for (const double r : batch_rates) total += r;
    last_batch_.rates[k] = neurons ? total / static_cast<double>(neurons) : 0.0;
    step_samples_[k] += static_cast<double>(rows);
    if (spikes.rank() >= 2) {
      last_batch_.steps = spikes.dim(0);
      last_batch_.samples = spikes.dim(1);
    }
  }
}

template <typename Real>
void ActivityMonitor<Real>::observe_rates(const std::vector<const Tensor<Real>*>& rates,
                                          std::size_t steps) {
  if (rates.size() != layers_.size()) throw std::logic_error("observe_rates: layer count");
  last_batch_.layers = layers_;
  last_batch_.rates.resize(layers_.size());
  last_batch_.neuron_rates.resize(layers_.size());
  for (std::size_t k = 0; k < layers_.size(); ++k) {
    const Tensor<Real>& rate = *rates[k];
    std::vector<double>& sums = neuron_spikes_[k];
    std::vector<double>& batch_rates = last_batch_.neuron_rates[k];
    const std::size_t neurons = sums.size();
    const std::size_t samples = rate.size() / neurons;
    batch_rates.assign(neurons, 0.0);
    for (std::size_t b = 0; b < samples; ++b) {
      const Real* row = rate.data() + b * neurons;
      for (std::size_t j = 0; j < neurons; ++j) batch_rates[j] += static_cast<double>(row[j]);
    }
    double total = 0.0;
    for (std::size_t j = 0; j < neurons; ++j) {
      // Rates are counts / T: round back to whole spike counts.
      sums[j] += std::round(batch_rates[j] * static_cast<double>(steps));
      batch_rates[j] = samples ? batch_rates[j] / static_cast<double>(samples) : 0.0;
      total += batch_rates[j];
    }
    last_batch_.rates[k] = neurons ? total / static_cast<double>(neurons) : 0.0;
    step_samples_[k] += static_cast<double>(steps * samples);
    last_batch_.steps = steps;
    last_batch_.samples = samples;
  }
}

template <typename Real>
void ActivityMonitor<Real>::observe_counts(std::span<const double> counts, std::size_t steps,
                                           std::size_t samples) {
  std::size_t expected = 0;
  for (const std::vector<double>& sums : neuron_spikes_) expected += sums.size();
  if (counts.size() != expected) throw std::logic_error("observe_counts: neuron count");
  last_batch_.layers = layers_;
  last_batch_.rates.resize(layers_.size());
  last_batch_.neuron_rates.resize(layers_.size());
  const std::size_t rows = steps * samples;
  std::size_t offset = 0;
  for (std::size_t k = 0; k < layers_.size(); ++k) {
    std::vector<double>& sums = neuron_spikes_[k];
    std::vector<double>& batch_rates = last_batch_.neuron_rates[k];
    const std::size_t neurons = sums.size();
    batch_rates.assign(neurons, 0.0);
    double total = 0.0;
    for (std::size_t j = 0; j < neurons; ++j) {
      const double count = counts[offset + j];
      sums[j] += count;
      batch_rates[j] = rows ? count / static_cast<double>(rows) : 0.0;
      total += batch_rates[j];
    }
    offset += neurons;
    last_batch_.rates[k] = neurons ? total / static_cast<double>(neurons) : 0.0;
    step_samples_[k] += static_cast<double>(rows);
  }
  last_batch_.steps = steps;
  last_batch_.samples = samples;
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

template <typename Real>
void annotate_threshold_scales(std::vector<LayerActivity>& activity, Network<Real>& network) {
  const std::vector<std::size_t> layers = network.spiking_layers();
  for (std::size_t k = 0; k < layers.size() && k < activity.size(); ++k) {
    const NeuronPopulation<Real>* neurons = network.layer(layers[k]).neurons();
    activity[k].threshold_scale = neurons ? neurons->mean_threshold_scale() : 1.0;
  }
}

template void annotate_threshold_scales<float>(std::vector<LayerActivity>&, Network<float>&);
template void annotate_threshold_scales<double>(std::vector<LayerActivity>&, Network<double>&);
template class ActivityMonitor<float>;
template class ActivityMonitor<double>;

}  // namespace homeostat
