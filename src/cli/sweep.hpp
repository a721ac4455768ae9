// `homeostat sweep GRID.toml`: a grid of config keys x seeds, run as `train` child processes.
#pragma once

#include <string>

namespace homeostat {

struct SweepCommand {
  std::string grid_file;
  int workers = 1;
  int threads = 0;  // per run; 0: the cores shared among the workers
  bool no_progress = false;
};

// 0 when every run has a result; 1 when runs failed (rerun to retry them); 130 when stopped.
int run_sweep_command(const SweepCommand& command);

}  // namespace homeostat
