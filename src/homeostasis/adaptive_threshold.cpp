#include "homeostasis/adaptive_threshold.hpp"

#include <algorithm>
#include <string>

#include "common/error.hpp"

namespace homeostat {

double adaptive_threshold_step(const AdaptiveThresholdParams& params, double scale, double rate) {
  return std::clamp(scale + params.eta * (rate - params.target), params.min_scale,
                    params.max_scale);
}

template <typename Real>
AdaptiveThreshold<Real>::AdaptiveThreshold(std::string kind, std::vector<std::size_t> layers,
                                           const AdaptiveThresholdParams& params)
    : Regulator<Real>(std::move(kind), std::move(layers)), params_(params) {}

template <typename Real>
void AdaptiveThreshold<Real>::after_forward(Network<Real>& network, const BatchActivity& activity,
                                            const TrainingClock&) {
  scales_.resize(this->layers().size());
  for (std::size_t k = 0; k < this->layers().size(); ++k) {
    const std::size_t layer = this->layers()[k];
    const std::vector<double>& rates = activity.neuron_rates[activity.slot(layer)];
    std::vector<double>& scales = network.layer(layer).neurons()->neuron_threshold_scales();
    for (std::size_t i = 0; i < scales.size(); ++i) {
      scales[i] = adaptive_threshold_step(params_, scales[i], rates[i]);
    }
    scales_[k] = scales;
  }
}

template <typename Real>
nlohmann::json AdaptiveThreshold<Real>::save_state() const {
  return {{"scales", scales_}};
}

template <typename Real>
void AdaptiveThreshold<Real>::load_state(const nlohmann::json& state, Network<Real>& network) {
  std::vector<std::vector<double>> saved =
      state.at("scales").get<std::vector<std::vector<double>>>();
  if (saved.empty()) return;  // saved before its first batch: nothing adapted yet
  if (saved.size() != this->layers().size()) {
    throw DataError("regulator 'adaptive_threshold' saved scales for " +
                    std::to_string(saved.size()) + " layers but regulates " +
                    std::to_string(this->layers().size()));
  }
  for (std::size_t k = 0; k < saved.size(); ++k) {
    Layer<Real>& layer = network.layer(this->layers()[k]);
    const std::size_t neurons = layer.neurons()->neuron_threshold_scales().size();
    if (saved[k].size() != neurons) {
      throw DataError("regulator 'adaptive_threshold' saved " + std::to_string(saved[k].size()) +
                      " threshold scales for layer '" + layer.name() + "', which has " +
                      std::to_string(neurons) + " neurons");
    }
  }
  scales_ = std::move(saved);
  for (std::size_t k = 0; k < scales_.size(); ++k) {
    network.layer(this->layers()[k]).neurons()->neuron_threshold_scales() = scales_[k];
  }
}

template class AdaptiveThreshold<float>;
template class AdaptiveThreshold<double>;

namespace {

AdaptiveThresholdParams read_adaptive_threshold(const KeyReader& s) {
  constexpr double kInf = KeyReader::kNoMax;
  AdaptiveThresholdParams p;
  p.target = s.number("target", p.target, 0.0, 1.0);
  p.eta = s.number("eta", p.eta, 0.0, kInf);
  p.min_scale = s.number("min_scale", p.min_scale, 1e-6, kInf);
  p.max_scale = s.number("max_scale", p.max_scale, p.min_scale, kInf);
  return p;
}

}  // namespace

std::vector<RegulatorKind> adaptive_threshold_kinds() {
  return {regulator_kind<AdaptiveThreshold>(
      "adaptive_threshold", RegulatorChannel::threshold,
      "per-neuron threshold follows the rate (intrinsic plasticity)", read_adaptive_threshold)};
}

}  // namespace homeostat
