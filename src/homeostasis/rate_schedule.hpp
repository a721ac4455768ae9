// When a rate penalty acts and at which target (seed 003: "high initial rate, sparsity
// introduced gradually"). With p = fractional epochs since training started and
// x = clamp((p - (start_epoch - 1)) / ramp_epochs, 0, 1) (x = 1 when ramp_epochs = 0 and the
// start has passed, 0 before it):
//   weight factor  = shape(x)                                 shape: linear x, cosine (1-cos(pi
//   x))/2 target         = initial + (final - initial) shape(y),    y likewise over anneal_epochs
// Without an initial target the target is constant.
#pragma once

#include <algorithm>
#include <cmath>
#include <numbers>
#include <optional>

namespace homeostat {

enum class RampShape { linear, cosine };

struct RateSchedule {
  double start_epoch = 1.0;  // 1-based epoch from whose beginning the penalty acts
  double ramp_epochs = 0.0;  // epochs over which the weight grows from 0 to its full value
  RampShape shape = RampShape::linear;
  std::optional<double> initial_target;  // anneal from this target ...
  double anneal_epochs = 0.0;            // ... to the regulator's target over these epochs
};

inline double ramp_value(RampShape shape, double x) {
  x = std::clamp(x, 0.0, 1.0);
  return shape == RampShape::linear ? x : 0.5 * (1.0 - std::cos(std::numbers::pi * x));
}

// Fraction of the way through a phase of `length` epochs that began at `start` (0-based epochs).
inline double phase_fraction(double progress, double start, double length) {
  if (progress < start) return 0.0;
  if (length <= 0.0) return 1.0;
  return std::clamp((progress - start) / length, 0.0, 1.0);
}

inline double scheduled_weight_factor(const RateSchedule& schedule, double progress) {
  const double start = schedule.start_epoch - 1.0;
  if (progress < start) return 0.0;
  return ramp_value(schedule.shape, phase_fraction(progress, start, schedule.ramp_epochs));
}

inline double scheduled_target(const RateSchedule& schedule, double final_target, double progress) {
  if (!schedule.initial_target) return final_target;
  const double y = phase_fraction(progress, schedule.start_epoch - 1.0, schedule.anneal_epochs);
  return *schedule.initial_target +
         (final_target - *schedule.initial_target) * ramp_value(schedule.shape, y);
}

}  // namespace homeostat
