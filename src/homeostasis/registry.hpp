// The single table of regulators: kind name -> parameters and constructor. A config's
// [[homeostasis]] entry names a kind from this table; io/homeostasis_config.cpp reads its keys.
#pragma once

#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "homeostasis/adaptive_threshold.hpp"
#include "homeostasis/ahsar.hpp"
#include "homeostasis/firing_constraint.hpp"
#include "homeostasis/rate_penalty.hpp"
#include "homeostasis/sleep.hpp"
#include "homeostasis/synaptic_scaling.hpp"
#include "homeostasis/weight_bounds.hpp"

namespace homeostat {

using RegulatorParams =
    std::variant<RatePenaltyParams, FiringConstraintParams, AdaptiveThresholdParams, AhsarParams,
                 SynapticScalingParams, WeightBoundsParams, SleepParams>;

struct RegulatorSpec {
  std::string kind;                 // a name from regulator_table()
  std::vector<std::string> layers;  // empty: every spiking layer
  RegulatorParams params;
};

struct RegulatorKind {
  std::string_view name;
  RegulatorChannel channel;
  std::string_view summary;
  RegulatorParams defaults;  // parameters before the config's keys are read
};

const std::vector<RegulatorKind>& regulator_table();
// The table entry for `name`, or nullptr.
const RegulatorKind* find_regulator_kind(std::string_view name);

// Builds the regulator for `spec` acting on network layers `layers` (already resolved).
template <typename Real>
RegulatorPtr<Real> make_regulator(const RegulatorSpec& spec, std::vector<std::size_t> layers);

}  // namespace homeostat
