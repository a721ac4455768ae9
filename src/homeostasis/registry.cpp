#include "homeostasis/registry.hpp"

#include <array>

#include "homeostasis/adaptive_threshold.hpp"
#include "homeostasis/ahsar.hpp"
#include "homeostasis/firing_constraint.hpp"
#include "homeostasis/rate_penalty.hpp"
#include "homeostasis/sleep.hpp"
#include "homeostasis/synaptic_scaling.hpp"
#include "homeostasis/weight_bounds.hpp"

namespace homeostat {
namespace {

// The registration functions, one per regulator file, in the order config errors list the kinds.
// An explicit table rather than self-registering statics: a static library drops the object
// files nothing references, and with them their registrars.
constexpr std::array kRegistrations = {
    &rate_penalty_kinds, &firing_constraint_kinds, &adaptive_threshold_kinds,
    &ahsar_kinds,        &synaptic_scaling_kinds,  &weight_bounds_kinds,
    &sleep_kinds,
};

}  // namespace

const std::vector<RegulatorKind>& regulator_table() {
  static const std::vector<RegulatorKind> table = [] {
    std::vector<RegulatorKind> kinds;
    for (const auto registration : kRegistrations) {
      for (RegulatorKind& kind : registration()) kinds.push_back(std::move(kind));
    }
    return kinds;
  }();
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
  const RegulatorKind* kind = find_regulator_kind(spec.kind);
  if (kind == nullptr) throw std::invalid_argument("unknown regulator kind '" + spec.kind + "'");
  return kind->maker<Real>()(spec, std::move(layers));
}

template RegulatorPtr<float> make_regulator<float>(const RegulatorSpec&, std::vector<std::size_t>);
template RegulatorPtr<double> make_regulator<double>(const RegulatorSpec&,
                                                     std::vector<std::size_t>);

std::size_t read_count(const KeyReader& keys, std::string_view key, std::size_t fallback,
                       std::int64_t min) {
  return static_cast<std::size_t>(
      keys.integer(key, static_cast<std::int64_t>(fallback), min, std::int64_t{1} << 31));
}

}  // namespace homeostat
