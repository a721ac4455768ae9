// Reading the [[homeostasis]] list and the [diagnostics] table of a config. Each entry's kind
// comes from the regulator table (homeostasis/registry.hpp); its keys are checked by name, type
// and range, and its layer names against the network's layers, with the key's line on error.
#pragma once

#include <vector>

#include "homeostasis/registry.hpp"
#include "config/config_reader.hpp"
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
