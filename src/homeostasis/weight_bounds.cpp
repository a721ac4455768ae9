#include "homeostasis/weight_bounds.hpp"

#include <algorithm>

#include "homeostasis/synapses.hpp"

namespace homeostat {

template <typename Real>
WeightBounds<Real>::WeightBounds(std::string kind, std::vector<std::size_t> layers,
                                 const WeightBoundsParams& params)
    : Regulator<Real>(std::move(kind), std::move(layers)), params_(params) {}

template <typename Real>
void WeightBounds<Real>::clip(Network<Real>& network) {
  const auto low = static_cast<Real>(params_.min);
  const auto high = static_cast<Real>(params_.max);
  std::size_t total = 0;
  std::size_t bounded = 0;
  for (const std::size_t layer : this->layers()) {
    const std::optional<std::size_t> source = synaptic_source(network, layer);
    if (!source) continue;
    for (Tensor<Real>* weight : network.layer(*source).incoming_synapses().weights) {
      Real* w = weight->data();
      for (std::size_t i = 0; i < weight->size(); ++i) {
        w[i] = std::clamp(w[i], low, high);
        bounded += (w[i] == low || w[i] == high);
      }
      total += weight->size();
    }
  }
  at_bounds_ = total ? static_cast<double>(bounded) / static_cast<double>(total) : 0.0;
}

template <typename Real>
void WeightBounds<Real>::after_update(Network<Real>& network, const BatchActivity&,
                                      const TrainingClock&) {
  clip(network);
}

template <typename Real>
nlohmann::json WeightBounds<Real>::describe() const {
  return {{"fraction_at_bounds", at_bounds_}};
}

template class WeightBounds<float>;
template class WeightBounds<double>;

namespace {

WeightBoundsParams read_weight_bounds(const KeyReader& s) {
  WeightBoundsParams p;
  p.min = s.number("min", p.min);
  p.max = s.number("max", p.max);
  if (p.min > p.max) throw s.error("min", "must not exceed 'max'");
  return p;
}

}  // namespace

std::vector<RegulatorKind> weight_bounds_kinds() {
  return {regulator_kind<WeightBounds>("weight_bounds", RegulatorChannel::weights,
                                       "clip incoming weights to [min, max]", read_weight_bounds)};
}

}  // namespace homeostat
