#include "homeostasis/registry.hpp"

namespace homeostat {
namespace {

RatePenaltyParams penalty(PenaltyShape shape) {
  RatePenaltyParams params;
  params.shape = shape;
  return params;
}

FiringConstraintParams constraint(std::size_t refractory, std::size_t cap, std::size_t winners) {
  FiringConstraintParams params;
  params.refractory_steps = refractory;
  params.cap_window = cap;
  params.winners = winners;
  return params;
}

// Visits the parameter type to pick the class.
template <typename Real>
struct Maker {
  const std::string& kind;
  std::vector<std::size_t>& layers;
  RegulatorPtr<Real> operator()(const RatePenaltyParams& p) const {
    return std::make_unique<RatePenalty<Real>>(kind, std::move(layers), p);
  }
  RegulatorPtr<Real> operator()(const FiringConstraintParams& p) const {
    return std::make_unique<FiringConstraint<Real>>(kind, std::move(layers), p);
  }
  RegulatorPtr<Real> operator()(const AdaptiveThresholdParams& p) const {
    return std::make_unique<AdaptiveThreshold<Real>>(kind, std::move(layers), p);
  }
  RegulatorPtr<Real> operator()(const AhsarParams& p) const {
    return std::make_unique<Ahsar<Real>>(kind, std::move(layers), p);
  }
  RegulatorPtr<Real> operator()(const SynapticScalingParams& p) const {
    return std::make_unique<SynapticScaling<Real>>(kind, std::move(layers), p);
  }
  RegulatorPtr<Real> operator()(const WeightBoundsParams& p) const {
    return std::make_unique<WeightBounds<Real>>(kind, std::move(layers), p);
  }
  RegulatorPtr<Real> operator()(const SleepParams& p) const {
    return std::make_unique<Sleep<Real>>(kind, std::move(layers), p);
  }
};

}  // namespace

const std::vector<RegulatorKind>& regulator_table() {
  static const std::vector<RegulatorKind> table = {
      {"rate_l2", RegulatorChannel::loss, "L2 penalty of the rate toward a target (seed 000)",
       penalty(PenaltyShape::l2)},
      {"rate_l1", RegulatorChannel::loss, "L1 sparsity penalty of the rate",
       penalty(PenaltyShape::l1)},
      {"rate_band", RegulatorChannel::loss, "two-sided penalty outside [low, high] (seed 003)",
       penalty(PenaltyShape::band)},
      {"refractory", RegulatorChannel::constraint, "absolute refractory period",
       constraint(2, 0, 0)},
      {"firing_cap", RegulatorChannel::constraint, "at most k spikes in any window of W steps",
       constraint(0, 10, 0)},
      {"kwta", RegulatorChannel::constraint, "k winners take all, per layer and step",
       constraint(0, 0, 0)},
      {"adaptive_threshold", RegulatorChannel::threshold,
       "per-neuron threshold follows the rate (intrinsic plasticity)", AdaptiveThresholdParams{}},
      {"ahsar", RegulatorChannel::threshold,
       "layer-wise homeostatic threshold controller (seed 004)", AhsarParams{}},
      {"synaptic_scaling", RegulatorChannel::weights,
       "multiplicative scaling of incoming weights toward a target rate", SynapticScalingParams{}},
      {"weight_bounds", RegulatorChannel::weights, "clip incoming weights to [min, max]",
       WeightBoundsParams{}},
      {"sleep", RegulatorChannel::weights,
       "sleep phases: weights decay toward a baseline (seed 002)", SleepParams{}},
  };
  return table;
}

const RegulatorKind* find_regulator_kind(std::string_view name) {
  for (const RegulatorKind& kind : regulator_table()) {
    if (kind.name == name) return &kind;
  }
  return nullptr;
}

template <typename Real>
RegulatorPtr<Real> make_regulator(const RegulatorSpec& spec, std::vector<std::size_t> layers) {
  return std::visit(Maker<Real>{spec.kind, layers}, spec.params);
}

template RegulatorPtr<float> make_regulator<float>(const RegulatorSpec&, std::vector<std::size_t>);
template RegulatorPtr<double> make_regulator<double>(const RegulatorSpec&,
                                                     std::vector<std::size_t>);

}  // namespace homeostat
