// What the activity diagnostics watch for ([diagnostics] in a config): the default rate band,
// the silence and saturation alarms, the guard, batch metric lines and the report.
#pragma once

#include <cstddef>

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

}  // namespace homeostat
