// `homeostat reproduce saturation|sg-stability|ahsar [--quick]`: one command per published
// finding (seeds 000, 003, 004). Each trains its arms in-process on a base config from
// experiments/ (regulators appended as [[homeostasis]] tables, other changes as --set style
// overrides), prints a table and a one-line verdict against the paper's claim, and writes
// runs/reproduce_<name>/summary.md and summary.json beside every arm's own run directory
// (metrics.jsonl, report.html). --quick runs a reduced grid on data subsets (CI).
#pragma once

#include <string>

#include "run/resources.hpp"

namespace homeostat {

struct ReproduceOptions {
  std::string name;
  bool quick = false;
  int threads = 0;
  std::string experiments_directory = default_experiments_directory().string();
  std::string output_directory = "runs";
};

int run_reproduce(const ReproduceOptions& options);

}  // namespace homeostat
