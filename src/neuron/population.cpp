#include "neuron/population.hpp"

#include <utility>

namespace homeostat {

template <typename Real>
NeuronPopulation<Real>::NeuronPopulation(NeuronSpec spec, std::size_t neurons)
    : spec_(std::move(spec)),
      neurons_(neurons),
      neuron_scale_(neurons, 1.0),
      uniform_spike_gradient_(neurons, Real{0}) {}

template <typename Real>
double NeuronPopulation<Real>::mean_threshold_scale() const {
  double sum = 0.0;
  for (const double s : neuron_scale_) sum += s;
  return neurons_ ? threshold_scale_ * sum / static_cast<double>(neurons_) : threshold_scale_;
}

template class NeuronPopulation<float>;
template class NeuronPopulation<double>;

}  // namespace homeostat
