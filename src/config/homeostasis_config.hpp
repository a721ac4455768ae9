// Reading the [[homeostasis]] list and the [diagnostics] table of a config. Each entry's kind
// comes from the regulator table (homeostasis/registry.hpp); its keys are checked by name, type
// and range, and its layer names against the network's layers, with the key's line on error.
#pragma once

#include <vector>

#include "config/config_reader.hpp"
#include "homeostasis/registry.hpp"
#include "metrics/diagnostics_spec.hpp"
#include "network/layer_spec.hpp"

namespace homeostat {

RegulatorSpec read_regulator(const ConfigSection& section, const std::vector<LayerSpec>& layers);
std::vector<RegulatorSpec> read_homeostasis(const ConfigSection& root,
                                            const std::vector<LayerSpec>& layers);
DiagnosticsSpec read_diagnostics(const ConfigSection& section);

}  // namespace homeostat
