// `homeostat sweep GRID.toml`: a grid of config keys x seeds, run as `train` child processes
// (on one machine, or dealt out over MPI ranks under mpirun).
#pragma once

#include <string>

#include "distributed/communicator.hpp"

namespace homeostat {

struct SweepCommand {
  std::string grid_file;
  int workers = 1;
  int threads = 0;  // per run; 0: the cores shared among the workers
  bool no_progress = false;
};

// 0 when every run has a result; 1 when runs failed (rerun to retry them); 130 when stopped.
// `world`: the MPI ranks the runs are dealt out over (null: this process alone).
int run_sweep_command(const SweepCommand& command, Communicator* world = nullptr);

}  // namespace homeostat
