// The registry of regulators: kind name -> channel, summary, the reader of its config keys and
// its constructors. Each regulator's .cpp defines its kinds (regulator_kind below) in one
// registration function declared in its header; registry.cpp lists those functions, one line
// per regulator file. A config's [[homeostasis]] entry names a kind: config/homeostasis_config.cpp
// reads the generic keys (kind, layers) and hands the rest of the table to the kind's reader
// through common/key_reader.hpp, so nothing here depends on the TOML layer.
#pragma once

#include <any>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <typeinfo>
#include <utility>
#include <vector>

#include "common/key_reader.hpp"
#include "homeostasis/regulator.hpp"

namespace homeostat {

// One regulator's parameter struct, type-erased so that specs, configs and this registry need
// not list every kind's type. Copying copies the struct (configs are copied).
class RegulatorParams {
 public:
  RegulatorParams() = default;
  // Implicit, so a spec reads RegulatorSpec{"rate_l2", {"lif1"}, RatePenaltyParams{...}}.
  template <typename Params>
  requires(!std::same_as<std::remove_cvref_t<Params>, RegulatorParams>)
      RegulatorParams(Params params)  // NOLINT(google-explicit-constructor)
      : value_(std::move(params)) {}

  // nullptr when the parameters are of another type (or empty).
  template <typename Params>
  [[nodiscard]] const Params* get_if() const {
    return std::any_cast<Params>(&value_);
  }
  // std::invalid_argument when the parameters are of another type (a spec whose kind and
  // parameters disagree).
  template <typename Params>
  [[nodiscard]] const Params& get() const {
    if (const Params* params = get_if<Params>()) return *params;
    throw std::invalid_argument(std::string("regulator parameters are not ") +
                                typeid(Params).name());
  }

 private:
  std::any value_;
};

struct RegulatorSpec {
  std::string kind;                 // a name from regulator_table()
  std::vector<std::string> layers;  // empty: every spiking layer
  RegulatorParams params;           // the kind's parameter struct (RegulatorKind::read)
};

// Builds the regulator of `spec` for network layers `layers` (already resolved).
template <typename Real>
using RegulatorMaker = RegulatorPtr<Real> (*)(const RegulatorSpec& spec,
                                              std::vector<std::size_t> layers);

struct RegulatorKind {
  std::string_view name;
  RegulatorChannel channel;
  std::string_view summary;
  // What a minimal [[homeostasis]] entry of this kind must give besides `kind`, as TOML lines
  // (the generated key reference and the registry test read every kind with them).
  std::string_view required_keys;
  // Reads the kind's own keys of one [[homeostasis]] entry into its parameter struct: defaults
  // for missing keys, ConfigError naming the key for a bad value. The caller reads kind and
  // layers and rejects unknown keys after.
  std::function<RegulatorParams(const KeyReader& keys)> read;
  RegulatorMaker<float> make_float;
  RegulatorMaker<double> make_double;

  template <typename Real>
  [[nodiscard]] RegulatorMaker<Real> maker() const {
    if constexpr (std::is_same_v<Real, float>) {
      return make_float;
    } else {
      return make_double;
    }
  }
};

namespace registry_detail {
template <template <typename> class Class, typename Params, typename Real>
RegulatorPtr<Real> make(const RegulatorSpec& spec, std::vector<std::size_t> layers) {
  const Params* params = spec.params.get_if<Params>();
  if (params == nullptr) {
    throw std::invalid_argument("regulator '" + spec.kind + "' got another kind's parameters");
  }
  return std::make_unique<Class<Real>>(spec.kind, std::move(layers), *params);
}
}  // namespace registry_detail

// A kind whose regulator is Class<Real>(kind, layers, const Params&), Params being what `reader`
// returns. For the regulator's own .cpp, where Class<float> and Class<double> are instantiated.
template <template <typename> class Class, typename Reader>
RegulatorKind regulator_kind(std::string_view name, RegulatorChannel channel,
                             std::string_view summary, Reader reader,
                             std::string_view required_keys = {}) {
  using Params = std::invoke_result_t<Reader, const KeyReader&>;
  return {
      name,
      channel,
      summary,
      required_keys,
      [reader = std::move(reader)](const KeyReader& keys) { return RegulatorParams(reader(keys)); },
      &registry_detail::make<Class, Params, float>,
      &registry_detail::make<Class, Params, double>};
}

// Every kind, in registration order (the order of the valid-kinds list in config errors).
const std::vector<RegulatorKind>& regulator_table();
// The table entry for `name`, or nullptr.
const RegulatorKind* find_regulator_kind(std::string_view name);

// Builds the regulator for `spec` acting on network layers `layers` (already resolved).
// std::invalid_argument for an unknown kind or parameters of another kind's type.
template <typename Real>
RegulatorPtr<Real> make_regulator(const RegulatorSpec& spec, std::vector<std::size_t> layers);

// A count key (steps, batches, winners) as a size: an integer in [min, 2^31].
std::size_t read_count(const KeyReader& keys, std::string_view key, std::size_t fallback,
                       std::int64_t min = 0);

}  // namespace homeostat
