// Learning-rate schedules, evaluated per optimizer step (so resuming mid-epoch is exact):
//   constant  lr
//   cosine    lr_min + (lr - lr_min) (1 + cos(pi * step / total_steps)) / 2
//   step      lr * gamma^floor(epoch / step_epochs)
// An optional linear warm-up over the first warmup_steps multiplies any of them.
#pragma once

#include <cmath>
#include <cstdint>
#include <numbers>
#include <string>
#include <string_view>

#include "common/error.hpp"

namespace homeostat {

struct ScheduleSpec {
  enum class Kind { constant, cosine, step } kind = Kind::constant;
  double min_learning_rate = 0.0;  // cosine
  std::int64_t step_epochs = 1;    // step
  double gamma = 0.1;              // step
  std::int64_t warmup_steps = 0;
};

inline ScheduleSpec::Kind parse_schedule_kind(std::string_view name) {
  if (name == "constant") return ScheduleSpec::Kind::constant;
  if (name == "cosine") return ScheduleSpec::Kind::cosine;
  if (name == "step") return ScheduleSpec::Kind::step;
  throw ConfigError("unknown schedule '" + std::string(name) + "' (valid: constant, cosine, step)");
}

// step: optimizer steps taken so far (0-based); steps_per_epoch > 0.
inline double scheduled_learning_rate(const ScheduleSpec& spec, double base, std::uint64_t step,
                                      std::uint64_t steps_per_epoch, std::uint64_t total_steps) {
  double lr = base;
  switch (spec.kind) {
    case ScheduleSpec::Kind::constant:
      break;
    case ScheduleSpec::Kind::cosine: {
      const double progress =
          total_steps ? static_cast<double>(step) / static_cast<double>(total_steps) : 0.0;
      lr = spec.min_learning_rate +
           (base - spec.min_learning_rate) * 0.5 * (1.0 + std::cos(std::numbers::pi * progress));
      break;
    }
    case ScheduleSpec::Kind::step: {
      const std::uint64_t epoch = step / steps_per_epoch;  // whole epochs completed
      lr = base * std::pow(spec.gamma, std::floor(static_cast<double>(epoch) /
                                                  static_cast<double>(spec.step_epochs)));
      break;
    }
  }
  if (spec.warmup_steps > 0 && step < static_cast<std::uint64_t>(spec.warmup_steps)) {
    lr *= static_cast<double>(step + 1) / static_cast<double>(spec.warmup_steps);
  }
  return lr;
}

}  // namespace homeostat
