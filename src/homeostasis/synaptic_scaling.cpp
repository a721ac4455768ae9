#include "homeostasis/synaptic_scaling.hpp"

#include <algorithm>

#include "homeostasis/synapses.hpp"

namespace homeostat {

double synaptic_scaling_factor(const SynapticScalingParams& params, double rate) {
  return std::clamp(1.0 + params.eta * (params.target - rate) / params.target,
                    1.0 - params.max_step, 1.0 + params.max_step);
}

template <typename Real>
SynapticScaling<Real>::SynapticScaling(std::string kind, std::vector<std::size_t> layers,
                                       const SynapticScalingParams& params)
    : Regulator<Real>(std::move(kind), std::move(layers)), params_(params) {}

template <typename Real>
void SynapticScaling<Real>::after_update(Network<Real>& network, const BatchActivity& activity,
                                         const TrainingClock&) {
  if (++batches_seen_ % params_.every != 0) return;
  for (const std::size_t layer : this->layers()) {
    const std::optional<std::size_t> source = synaptic_source(network, layer);
    if (!source) continue;
    const IncomingSynapses<Real> synapses = network.layer(*source).incoming_synapses();
    const std::vector<double> rates =
        unit_rates(activity.neuron_rates[activity.slot(layer)], synapses.units);
    for (Tensor<Real>* weight : synapses.weights) {
      const std::size_t fan_in = weight->size() / synapses.units;
      for (std::size_t u = 0; u < rates.size(); ++u) {
        const auto factor = static_cast<Real>(synaptic_scaling_factor(params_, rates[u]));
        Real* row = weight->data() + u * fan_in;
        for (std::size_t j = 0; j < fan_in; ++j) row[j] *= factor;
      }
    }
  }
}

template class SynapticScaling<float>;
template class SynapticScaling<double>;

namespace {

SynapticScalingParams read_synaptic_scaling(const KeyReader& s) {
  SynapticScalingParams p;
  p.target = s.number("target", p.target, 1e-9, 1.0);
  p.eta = s.number("eta", p.eta, 0.0, KeyReader::kNoMax);
  p.max_step = s.number("max_step", p.max_step, 0.0, 0.99);
  p.every = read_count(s, "every", p.every, 1);
  return p;
}

}  // namespace

std::vector<RegulatorKind> synaptic_scaling_kinds() {
  return {regulator_kind<SynapticScaling>(
      "synaptic_scaling", RegulatorChannel::weights,
      "multiplicative scaling of incoming weights toward a target rate", read_synaptic_scaling)};
}

}  // namespace homeostat
