// Reading the [[homeostasis]] list and the [diagnostics] table of a config. Each entry's kind
// comes from the regulator registry (homeostasis/registry.hpp). This file reads the generic keys
// (kind, layers: checked against the network's layers) and hands the table to the kind's own
// reader for the rest; every key is checked by name, type and range, with its line on error.
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
