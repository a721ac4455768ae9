#include "cli/sweep.hpp"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "sweep/sweep_runner.hpp"
#include "sweep/sweep_spec.hpp"

namespace homeostat {

int run_sweep_command(const SweepCommand& command, Communicator* world) {
  const SweepSpec spec = load_sweep_spec(command.grid_file);
  SweepOptions options;
  options.workers = command.workers;
  options.threads_per_run = command.threads;
  options.progress = !command.no_progress;
  // The binary itself, even when it was started through a relative path or a symlink.
  options.executable = std::filesystem::read_symlink("/proc/self/exe");
  options.communicator = world;
  const SweepOutcome outcome = run_sweep(spec, options);
  if (world != nullptr && !world->is_root()) {  // rank 0 reports; every rank exits alike
    return outcome.interrupted ? 130 : outcome.failed > 0 ? 1 : 0;
  }
  std::ifstream summary(outcome.summary);
  std::stringstream text;
  text << summary.rdbuf();
  std::printf("\n%s\nwritten: %s (and summary.csv, results.jsonl beside it)\n", text.str().c_str(),
              outcome.summary.string().c_str());
  if (outcome.interrupted) {
    std::fprintf(stderr,
                 "sweep stopped: runs with a result are kept; run the same command to continue "
                 "(interrupted runs resume from their checkpoints)\n");
    return 130;
  }
  if (outcome.failed > 0) {
    std::fprintf(stderr,
                 "sweep: %zu run(s) failed (their logs are in %s); run the same command to retry "
                 "them\n",
                 outcome.failed, (spec.directory / "logs").string().c_str());
    return 1;
  }
  return 0;
}

}  // namespace homeostat
