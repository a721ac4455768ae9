#include "metrics/alarm.hpp"

#include <cstdio>

namespace homeostat {

std::string_view alarm_kind_name(AlarmKind kind) {
  return kind == AlarmKind::silence ? "silence" : "saturation";
}

std::string Alarm::message() const {
  char text[256];
  if (kind == AlarmKind::silence) {
    std::snprintf(text, sizeof text,
                  "silence alarm: layer '%s' fires at rate %.5f, below %.5f (0.1 x its band's low "
                  "edge)",
                  layer.c_str(), value, limit);
  } else if (by_rate) {
    std::snprintf(text, sizeof text,
                  "saturation alarm: layer '%s' fires at rate %.3f, above %.3f (a dense, "
                  "saturated code)",
                  layer.c_str(), value, limit);
  } else {
    std::snprintf(text, sizeof text,
                  "saturation alarm: %.1f%% of layer '%s''s neurons fire in more than 90%% of "
                  "steps (limit %.0f%%)",
                  100.0 * value, layer.c_str(), 100.0 * limit);
  }
  return text;
}

std::vector<Alarm> check_alarms(const std::vector<LayerActivity>& activity,
                                const AlarmLimits& limits) {
  std::vector<Alarm> alarms;
  for (const LayerActivity& a : activity) {
    const auto band = limits.bands.find(a.name);
    const double low = band != limits.bands.end() ? band->second.first : limits.default_band.first;
    const double silence_limit = limits.silence_factor * low;
    if (a.rate < silence_limit)
      alarms.push_back({AlarmKind::silence, a.name, a.rate, silence_limit});
    if (a.saturated_fraction > limits.saturation_fraction) {
      alarms.push_back(
          {AlarmKind::saturation, a.name, a.saturated_fraction, limits.saturation_fraction});
    } else if (a.rate > limits.saturation_rate) {
      alarms.push_back({AlarmKind::saturation, a.name, a.rate, limits.saturation_rate, true});
    }
  }
  return alarms;
}

}  // namespace homeostat
