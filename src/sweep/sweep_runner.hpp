// Runs a sweep (sweep/sweep_spec.hpp): every run is a `homeostat train` child process, up to
// `workers` at a time, each writing its own run directory inside the sweep's folder
// (<output.directory>/<name>/p<point>_s<seed>) and its output to logs/<run>.log there.
//
// The folder belongs to one sweep (locked like a run directory) and keeps:
//   sweep.toml     the grid file as read; a restart with another grid is refused
//   results.jsonl  one line per finished run: its status, exit code and figures (on N MPI ranks,
//                  each rank writes results.rank<r>.jsonl; rank 0 merges them at the end, and a
//                  start with any N reads them all)
//   summary.md / summary.csv   per grid point: runs, and each figure's mean ± 95% CI
// A sweep that is stopped (Ctrl-C, a kill, a reboot) and started again skips the runs with a
// result, resumes those that left a checkpoint and runs the rest. A run that fails (exit 1-3,
// or killed by a signal) is recorded and retried on the next start; a diverged run (exit 4) or
// one stopped by the activity guard (exit 5) is a result and is not retried.
#pragma once

#include <cstddef>
#include <filesystem>
#include <string>
#include <vector>

#include "distributed/communicator.hpp"
#include "sweep/sweep_spec.hpp"

namespace homeostat {

struct SweepOptions {
  int workers = 1;
  int threads_per_run = 0;  // 0: the machine's cores shared among the workers (at least 1)
  bool progress = true;
  std::filesystem::path executable;  // the homeostat binary that runs `train`
  // Under `mpirun -np N`: rank r runs the runs whose index (sweep_runs order) is r modulo N, each
  // rank with its own `workers`; null: this process runs them all.
  Communicator* communicator = nullptr;
};

// Counted over every rank of the sweep.
struct SweepOutcome {
  std::size_t runs = 0;
  std::size_t already_finished = 0;  // skipped: a result from an earlier start
  std::size_t finished = 0;          // finished in this start (ok, diverged or guard)
  std::size_t failed = 0;
  bool interrupted = false;
  std::filesystem::path summary;  // summary.md
};

// Validates every config first (ConfigError before any run starts); Error when the folder is
// held by another sweep or its results cannot be read or written.
SweepOutcome run_sweep(const SweepSpec& spec, const SweepOptions& options);

// The status of a finished run from its exit code: "ok", "diverged", "guard" or "failed".
std::string sweep_run_status(int exit_code);

}  // namespace homeostat
