// SynOps accounting (see synops.hpp).
#include "metrics/synops.hpp"

#include <algorithm>
#include <stdexcept>

#include "tensor/parallel.hpp"

namespace homeostat {

template <typename Real>
std::uint64_t count_nonzero(std::span<const Real> values) {
  const Real* data = values.data();
  const std::size_t size = values.size();
  std::uint64_t count = 0;
  // Integer sums: the reduction order cannot change the result.
#pragma omp parallel for simd schedule(static) reduction(+ : count) if (size >= kMinParallelWork)
  for (std::size_t i = 0; i < size; ++i) count += data[i] != Real{0} ? 1u : 0u;
  return count;
}

template <typename Real>
SynopsCounter<Real>::SynopsCounter(const Network<Real>& network) {
  for (std::size_t i = 0; i < network.layer_count(); ++i) {
    const Layer<Real>& layer = network.layer(i);
    if (layer.fan_out_per_input() == 0 && layer.recurrent_fan_out() == 0) continue;
    entries_.push_back({i, layer.name(), layer.fan_out_per_input(), layer.recurrent_fan_out()});
  }
}

template <typename Real>
void SynopsCounter<Real>::observe(const Network<Real>& network, const Tensor<Real>& input) {
  if (input.rank() < 2) {
    throw std::invalid_argument("SynopsCounter::observe: input must be [T, B, ...], got " +
                                shape_string(input.shape()));
  }
  for (Entry& entry : entries_) {
    if (entry.fan_out > 0) {
      const Tensor<Real>& layer_input = entry.layer == 0 ? input : network.output(entry.layer - 1);
      entry.input_synops += count_nonzero(layer_input.span()) * entry.fan_out;
    }
    if (entry.recurrent_fan_out > 0) {
      const Tensor<Real>& spikes = network.output(entry.layer);
      const std::size_t steps = spikes.rank() ? spikes.dim(0) : 0;
      const std::size_t before_last = steps > 0 ? (steps - 1) * spikes.stride0() : 0;
      entry.recurrent_synops +=
          count_nonzero(spikes.span().first(before_last)) * entry.recurrent_fan_out;
    }
  }
  samples_ += input.dim(1);
}

template <typename Real>
std::uint64_t SynopsCounter<Real>::total() const {
  std::uint64_t sum = 0;
  for (const Entry& entry : entries_) sum += entry.input_synops + entry.recurrent_synops;
  return sum;
}

template <typename Real>
double SynopsCounter<Real>::per_sample() const {
  return samples_ ? static_cast<double>(total()) / static_cast<double>(samples_) : 0.0;
}

template <typename Real>
std::vector<LayerSynops> SynopsCounter<Real>::per_layer() const {
  std::vector<LayerSynops> result;
  const double samples = samples_ ? static_cast<double>(samples_) : 1.0;
  for (const Entry& entry : entries_) {
    LayerSynops layer;
    layer.name = entry.name;
    layer.per_sample = static_cast<double>(entry.input_synops + entry.recurrent_synops) / samples;
    layer.recurrent_per_sample = static_cast<double>(entry.recurrent_synops) / samples;
    result.push_back(layer);
  }
  return result;
}

template <typename Real>
void SynopsCounter<Real>::reset() {
  for (Entry& entry : entries_) entry.input_synops = entry.recurrent_synops = 0;
  samples_ = 0;
}

template class SynopsCounter<float>;
template class SynopsCounter<double>;
template std::uint64_t count_nonzero<float>(std::span<const float>);
template std::uint64_t count_nonzero<double>(std::span<const double>);

}  // namespace homeostat
