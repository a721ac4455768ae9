// The summary of a sweep's results: per grid point, how many runs finished ok and each chosen
// figure's mean ± the half-width of its 95% confidence interval (Student's t over the point's
// ok runs), as a Markdown table for people and a CSV file for scripts.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "sweep/sweep_spec.hpp"

namespace homeostat {

// `results`: run name -> its line of results.jsonl (sweep/sweep_runner.hpp).
struct SweepSummary {
  std::string markdown;
  std::string csv;
};

SweepSummary summarize_sweep(const SweepSpec& spec,
                             const std::map<std::string, nlohmann::json>& results);

}  // namespace homeostat
