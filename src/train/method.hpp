// How a network is trained (train.method): "bptt" backpropagates through every step of the
// batch (O(T) memory); "rate" is rate-based backpropagation (papers.md 5c, train/rate_pass.hpp):
// a no-gradient spike pass records rates and eligibilities, one rate pass backpropagates.
#pragma once

#include <string>
#include <string_view>

#include "common/error.hpp"

namespace homeostat {

enum class TrainMethod { bptt, rate };

inline TrainMethod parse_train_method(std::string_view name) {
  if (name == "bptt") return TrainMethod::bptt;
  if (name == "rate") return TrainMethod::rate;
  throw ConfigError("unknown training method '" + std::string(name) + "' (valid: bptt, rate)");
}

inline std::string_view train_method_name(TrainMethod method) {
  return method == TrainMethod::rate ? "rate" : "bptt";
}

}  // namespace homeostat
