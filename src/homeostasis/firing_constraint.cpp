#include "homeostasis/firing_constraint.hpp"

#include <algorithm>
#include <cmath>

namespace homeostat {

std::optional<double> FiringConstraintParams::implied_max_rate(std::size_t neurons) const {
  std::optional<double> rate;
  const auto lower = [&rate](double r) { rate = rate ? std::min(*rate, r) : r; };
  if (refractory_steps > 0) lower(1.0 / static_cast<double>(refractory_steps + 1));
  if (cap_window > 0) {
    lower(static_cast<double>(cap_spikes) / static_cast<double>(cap_window));
  }
  if (winners > 0 && neurons > 0) {
    lower(std::min(1.0, static_cast<double>(winners) / static_cast<double>(neurons)));
  }
  if (winners_fraction > 0) lower(winners_fraction);
  return rate;
}

template <typename Real>
FiringConstraint<Real>::FiringConstraint(std::string kind, std::vector<std::size_t> layers,
                                         const FiringConstraintParams& params)
    : Regulator<Real>(std::move(kind), std::move(layers)), params_(params) {}

template <typename Real>
void FiringConstraint<Real>::attach(Network<Real>& network) {
  for (const std::size_t index : this->layers()) {
    NeuronPopulation<Real>& neurons = *network.layer(index).neurons();
    typename NeuronPopulation<Real>::Constraints c = neurons.constraints();
    // Several constraint regulators may act on one layer: each tightens, none loosens.
    c.refractory_steps = std::max(c.refractory_steps, params_.refractory_steps);
    if (params_.cap_window > 0) {
      const bool tighter = c.cap_window == 0 ||
                           params_.cap_spikes * c.cap_window < c.cap_spikes * params_.cap_window;
      if (tighter) {
        c.cap_spikes = params_.cap_spikes;
        c.cap_window = params_.cap_window;
      }
    }
    std::size_t winners = params_.winners;
    if (params_.winners_fraction > 0) {
      winners = std::max<std::size_t>(
          1, static_cast<std::size_t>(
                 std::lround(params_.winners_fraction * static_cast<double>(neurons.size()))));
    }
    if (winners > 0) c.winners = c.winners == 0 ? winners : std::min(c.winners, winners);
    neurons.set_constraints(c);
  }
}

template <typename Real>
nlohmann::json FiringConstraint<Real>::describe() const {
  nlohmann::json d = nlohmann::json::object();
  if (params_.refractory_steps) d["refractory_steps"] = params_.refractory_steps;
  if (params_.cap_window) {
    d["cap_spikes"] = params_.cap_spikes;
    d["cap_window"] = params_.cap_window;
  }
  if (params_.winners) d["winners"] = params_.winners;
  if (params_.winners_fraction > 0) d["winners_fraction"] = params_.winners_fraction;
  return d;
}

template class FiringConstraint<float>;
template class FiringConstraint<double>;

}  // namespace homeostat
