// `homeostat bench`: median milliseconds per training batch (after warm-up) and peak RSS of the
// standard workloads, each measured in its own child process so peak memory is per workload.
#pragma once

#include <string>
#include <vector>

#include "run/resources.hpp"

namespace homeostat {

struct BenchOptions {
  std::vector<std::string> workloads;  // "W1", "W2", "W3"; empty: W1 and W2
  std::size_t warmup_batches = 5;
  std::size_t measured_batches = 20;
  int threads = 0;
  std::string experiments_directory = default_experiments_directory().string();
  bool json = false;
  // All workloads in one process with alternating batches (overhead comparisons under drift).
  bool interleave = false;
  // Sweeps (empty: the configs' own): every workload is measured for each (T, method) pair,
  // each in its own child process, with the buffer bytes kept for backward (--time-steps,
  // --method).
  std::vector<std::size_t> time_steps;
  std::vector<std::string> methods;
  // --set KEY=VALUE assignments applied to every workload's config (e.g. gemm_precision=bf16).
  std::vector<std::string> overrides;
};

int run_bench(const BenchOptions& options);

}  // namespace homeostat
