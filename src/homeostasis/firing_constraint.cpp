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

namespace {

FiringConstraintParams read_refractory(const KeyReader& s) {
  FiringConstraintParams p;
  p.refractory_steps = read_count(s, "steps", 2, 1);
  return p;
}

FiringConstraintParams read_firing_cap(const KeyReader& s) {
  FiringConstraintParams p;
  p.cap_spikes = static_cast<std::size_t>(s.required_integer("spikes", 0, 60000));
  p.cap_window = static_cast<std::size_t>(s.required_integer("window", 1, 60000));
  return p;
}

FiringConstraintParams read_kwta(const KeyReader& s) {
  if (s.has("k") == s.has("fraction")) {
    throw s.error("k",
                  "kwta needs exactly one of 'k' (winners per step) or 'fraction' "
                  "(of the layer's neurons)");
  }
  FiringConstraintParams p;
  p.winners = read_count(s, "k", 0, 1);
  p.winners_fraction = s.number("fraction", 0.0, 0.0, 1.0);
  return p;
}

}  // namespace

std::vector<RegulatorKind> firing_constraint_kinds() {
  return {
      regulator_kind<FiringConstraint>("refractory", RegulatorChannel::constraint,
                                       "absolute refractory period", read_refractory),
      regulator_kind<FiringConstraint>("firing_cap", RegulatorChannel::constraint,
                                       "at most k spikes in any window of W steps", read_firing_cap,
                                       "spikes = 2\nwindow = 5\n"),
      regulator_kind<FiringConstraint>("kwta", RegulatorChannel::constraint,
                                       "k winners take all, per layer and step", read_kwta,
                                       "k = 10\n"),
  };
}

}  // namespace homeostat
