// Reading the [[homeostasis]] list and the [diagnostics] table of a config. Each entry's kind
// comes from the regulator registry (homeostasis/registry.hpp). This file reads the generic keys
// (kind, layers: checked against the network's layers) and hands the table to the kind's own
// reader for the rest; every key is checked by name, type and range, with its line on error.
#pragma once

#include <vector>

#include "config/config_reader.hpp"
#include "homeostasis/registry.hpp"
#include "network/layer_spec.hpp"

namespace homeostat {

struct DiagnosticsSpec {
  double band_low = 0.01;  // default band for layers no regulator gives one
  double band_high = 0.5;
  double silence_factor = 0.1;           // silence: rate < silence_factor x band low, whole epoch
  double saturation_alarm = 0.5;         // saturation: more than this fraction of neurons saturated
  double saturation_rate = 0.4;          // ... or a layer rate above this
  bool guard = false;                    // stop the run on an alarm
  std::size_t batch_metrics_every = 20;  // batches between "batch" lines in metrics.jsonl; 0: off
  bool report = true;                    // write report.html (and raster.json) after training
};

RegulatorSpec read_regulator(const ConfigSection& section, const std::vector<LayerSpec>& layers);
std::vector<RegulatorSpec> read_homeostasis(const ConfigSection& root,
                                            const std::vector<LayerSpec>& layers);
DiagnosticsSpec read_diagnostics(const ConfigSection& section);

}  // namespace homeostat
