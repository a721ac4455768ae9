// Activity alarms (design notes, "Activity vocabulary"): over a window (an epoch, or the part of
// one seen so far),
//   silence     a layer's rate < silence_factor x the low edge of its target band
//   saturation  more than saturation_alarm of a layer's neurons fire in > 90% of the steps, or
//               the layer's rate exceeds saturation_rate (seed 000's saturated RSNN fires at
//               ~49%: a dense, "digital-circuit-like" code long before single neurons pin at 1)
// Each alarm names its layer, the figure and the limit it crossed.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "metrics/activity.hpp"

namespace homeostat {

enum class AlarmKind { silence, saturation };
std::string_view alarm_kind_name(AlarmKind kind);

struct Alarm {
  AlarmKind kind;
  std::string layer;
  double value;          // the rate (silence, saturation by rate) or the saturated fraction
  double limit;          // the limit it crossed
  bool by_rate = false;  // saturation: the rate crossed saturation_rate
  [[nodiscard]] std::string message() const;
};

struct AlarmLimits {
  double silence_factor = 0.1;
  double saturation_fraction = 0.5;
  double saturation_rate = 0.4;
  std::pair<double, double> default_band{0.01, 0.5};
  std::map<std::string, std::pair<double, double>> bands;  // per layer name, from regulators
};

std::vector<Alarm> check_alarms(const std::vector<LayerActivity>& activity,
                                const AlarmLimits& limits);

}  // namespace homeostat
