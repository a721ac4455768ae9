// The `homeostat` command: train, eval, bench, advise, reproduce, report, convert-events. Errors
// map to exit codes: 1 other, 2 config, 3 data or checkpoint, 4 training diverged, 5 stopped by an
// alarm.

#include <CLI/CLI.hpp>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <new>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "cli/bench.hpp"
#include "cli/convert_events.hpp"
#include "cli/simulate.hpp"
#include "cli/sweep.hpp"
#include "common/atomic_file.hpp"
#include "common/error.hpp"
#include "config/config_reference.hpp"
#include "config/experiment_reader.hpp"
#include "data/corruption.hpp"
#include "data/dataset.hpp"
#include "distributed/mpi_world.hpp"
#include "homeostat/version.hpp"
#include "report/report.hpp"
#include "run/resources.hpp"
#include "run/train_run.hpp"
#include "studies/advise.hpp"
#include "studies/reproduce.hpp"
#include "tensor/blas.hpp"
#include "train/trainer.hpp"

namespace homeostat {
namespace {

void apply_threads(int threads) {
  if (threads > 0) set_thread_count(threads);
}

// Prefixed to every error message: names the rank when several run (empty otherwise).
std::string& error_prefix() {
  static std::string prefix;
  return prefix;
}

// Threads of one rank when neither --threads nor the config says: the cores shared by the ranks
// of this node, so that N ranks on one machine do not oversubscribe it.
int default_rank_threads(const Communicator* world) {
  if (world == nullptr || world->size() == 1) return 0;
  const auto cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  return std::max(1, cores / launcher_local_size());
}

int run_train(const std::string& config_path, const std::vector<std::string>& overrides,
              bool resume, int threads, bool no_progress, std::size_t stop_after,
              Communicator* world) {
  const ExperimentConfig config = load_experiment(config_path, overrides);
  const int rank_threads = default_rank_threads(world);
  apply_threads(threads > 0 ? threads : config.threads > 0 ? config.threads : rank_threads);
  const bool root = world == nullptr || world->is_root();
  if (root && world != nullptr && world->size() > 1) {
    std::printf("homeostat: %d MPI ranks, train.shards = %zu (%zu per rank)\n", world->size(),
                config.train.shards, config.train.shards / static_cast<std::size_t>(world->size()));
  }
  if (root) {
    std::printf(
        "homeostat %s: training '%s' (%zu layers, T=%zu, %zu epochs, %d threads, BLAS %s)\n",
        HOMEOSTAT_VERSION, config.name.c_str(), config.layers.size(), config.data.time_steps,
        config.train.epochs, thread_count(), blas_core_description().c_str());
    std::fflush(stdout);
  }
  TrainOptions options;
  options.resume = resume;
  options.progress = !no_progress;
  options.stop_after_batches = stop_after;
  options.communicator = world;
  const TrainResult result = train(config, options);
  if (!root) return 0;
  if (result.stopped_early) {
    std::printf("stopped after %zu batches as asked (--stop-after-batches); resume with --resume\n",
                stop_after);
    return 0;
  }
  std::printf("run directory: %s\n", result.run_directory.c_str());
  std::printf("test accuracy: %.2f%%\n", 100.0 * result.test_accuracy);
  return 0;
}

// "--data fashion-mnist:test", "DIR:train" or "DIR" (test split).
std::pair<std::filesystem::path, std::string> parse_data_argument(const std::string& argument,
                                                                  const ExperimentConfig& config) {
  if (argument.empty()) return {config.data.directory, "test"};
  std::string location = argument;
  std::string split = "test";
  const auto colon = argument.rfind(':');
  if (colon != std::string::npos) {
    location = argument.substr(0, colon);
    split = argument.substr(colon + 1);
  }
  if (split != "train" && split != "test") {
    throw ConfigError("--data: split must be 'train' or 'test', got '" + split + "'");
  }
  if (location == "fashion-mnist") location = kDefaultFashionMnistDir;
  return {location, split};
}

int run_eval(const std::string& checkpoint, const std::string& data_argument, std::size_t limit,
             int threads, const std::string& corrupt_argument) {
  apply_threads(threads);
  LoadedModel model = load_model(checkpoint);
  // Check the corruption list before any work, so a typo fails in milliseconds.
  const std::vector<Corruption> corruptions = parse_corruptions(corrupt_argument);
  const bool event_data = model.config.data.source == DataSource::events;
  for (const Corruption& c : corruptions) check_corruption_applies(c, event_data);
  const auto [directory, split] = parse_data_argument(data_argument, model.config);
  Dataset data;
  if (data_argument.empty()) {
    data = load_data_split(model.config, "test", limit);
  } else if (event_data) {
    data = load_event_split(directory, split, model.config.data.event_files, limit);
  } else {
    data = load_idx_split(directory, split, limit);
  }
  check_data_fits(data, model.config,
                  data_argument.empty() ? "the config's test data" : "'" + data_argument + "'");
  const EvaluationResult result = evaluate(model.network, model.config, data);
  std::printf("%s on %s:%s (%zu samples)\n", checkpoint.c_str(), directory.c_str(), split.c_str(),
              result.samples);
  std::printf("accuracy: %.2f%%  loss: %.4f\n", 100.0 * result.accuracy, result.loss);
  for (const LayerActivity& a : result.activity) {
    std::printf("  layer %-12s rate %.4f  dead %.3f  saturated %.3f\n", a.name.c_str(), a.rate,
                a.dead_fraction, a.saturated_fraction);
  }
  if (corruptions.empty()) return 0;
  // Out-of-distribution check (seed 004): the same samples under each corruption.
  std::printf("\n%-22s %9s %9s %8s\n", "corruption", "accuracy", "change", "loss");
  std::printf("%-22s %8.2f%% %9s %8.4f\n", "none", 100.0 * result.accuracy, "", result.loss);
  for (const Corruption& c : corruptions) {
    const EvaluationResult corrupted =
        evaluate(model.network, model.config, corrupt(data, c, model.config.seed));
    std::printf("%-22s %8.2f%% %+8.2f %8.4f\n", corruption_name(c).c_str(),
                100.0 * corrupted.accuracy, 100.0 * (corrupted.accuracy - result.accuracy),
                corrupted.loss);
    std::fflush(stdout);
  }
  return 0;
}

}  // namespace
}  // namespace homeostat

namespace homeostat {
namespace {

// Every option of every subcommand; CLI11 writes into it while parsing.
struct CommandLine {
  std::string config_path;
  std::vector<std::string> overrides;
  bool resume = false;
  bool no_progress = false;
  int threads = 0;
  std::size_t stop_after = 0;
  std::string checkpoint;
  std::string data_argument;
  std::size_t limit = 0;
  std::string corrupt_argument;
  ConvertEventsOptions convert;
  BenchOptions bench;
  std::string apply_path;
  ReproduceOptions reproduce;
  std::string run_directory;
  std::string experiments_directory = default_experiments_directory().string();
  std::string reference_output;
  SweepCommand sweep;
};

struct Commands {
  CLI::App* train = nullptr;
  CLI::App* simulate = nullptr;
  CLI::App* eval = nullptr;
  CLI::App* convert = nullptr;
  CLI::App* bench = nullptr;
  CLI::App* advise = nullptr;
  CLI::App* reproduce = nullptr;
  CLI::App* report = nullptr;
  CLI::App* config_reference = nullptr;
  CLI::App* sweep = nullptr;
};

// --threads: 0 (the default: the config's 'threads', else every core) up to the config key's cap.
const CLI::Range kThreadCount(0, 1024);

void add_training_commands(CLI::App& app, CommandLine& cl, Commands& commands) {
  CLI::App* train_cmd = app.add_subcommand("train", "train a network by surrogate-gradient BPTT");
  train_cmd->add_option("config", cl.config_path, "experiment config (TOML)")->required();
  train_cmd->add_option("--set", cl.overrides, "override a config key: --set train.lr=1e-3");
  train_cmd->add_flag("--resume", cl.resume, "continue from runs/<name>/checkpoint.bin");
  train_cmd
      ->add_option("--threads", cl.threads, "threads (default: config 'threads', else all cores)")
      ->check(kThreadCount);
  train_cmd->add_flag("--no-progress", cl.no_progress, "no progress line");
  train_cmd
      ->add_option("--stop-after-batches", cl.stop_after,
                   "stop after N batches as if killed (to test --resume)")
      ->check(CLI::NonNegativeNumber);
  commands.train = train_cmd;

  CLI::App* simulate_cmd =
      app.add_subcommand("simulate", "local learning (STDP) with the clock-driven simulator");
  simulate_cmd->add_option("config", cl.config_path, "simulation config (TOML)")->required();
  simulate_cmd->add_option("--set", cl.overrides,
                           "override a config key: --set data.train_images=100");
  simulate_cmd->add_option("--threads", cl.threads, "threads (default: config 'threads', else all)")
      ->check(kThreadCount);
  simulate_cmd->add_flag("--no-progress", cl.no_progress, "no progress line");
  commands.simulate = simulate_cmd;

  CLI::App* eval_cmd = app.add_subcommand("eval", "evaluate a checkpoint");
  eval_cmd->add_option("checkpoint", cl.checkpoint, "runs/<name>/checkpoint.bin")->required();
  eval_cmd->add_option("--data", cl.data_argument,
                       "fashion-mnist:test (default: the config's data), DIR:train or DIR:test");
  eval_cmd->add_option("--limit", cl.limit, "evaluate only the first N samples (0: all)")
      ->check(CLI::NonNegativeNumber);
  eval_cmd->add_option("--threads", cl.threads, "threads (default: all cores)")
      ->check(kThreadCount);
  eval_cmd->add_option("--corrupt", cl.corrupt_argument,
                       "also evaluate under corruptions, e.g. "
                       "gaussian:0.2,salt_pepper:0.1 (images) or drop_events:0.3 (event data)");
  commands.eval = eval_cmd;
}

void add_tool_commands(CLI::App& app, CommandLine& cl, Commands& commands) {
  ConvertEventsOptions& convert = cl.convert;
  CLI::App* convert_cmd = app.add_subcommand(
      "convert-events", "turn an IDX image set into a saccade-style event set (.hev)");
  convert_cmd->add_option("--input", convert.input,
                          "directory of IDX files (default: Debian's Fashion-MNIST)");
  convert_cmd->add_option("--output", convert.output, "directory for train.hev.gz, test.hev.gz")
      ->required();
  convert_cmd
      ->add_option("--limit", convert.limit, "convert only the first N samples per split (0: all)")
      ->check(CLI::NonNegativeNumber);
  convert_cmd->add_option("--contrast", convert.saccade.contrast,
                          "contrast threshold C in log intensity (default 0.5)");
  convert_cmd
      ->add_option("--substeps", convert.saccade.substeps, "path samples per saccade (default 20)")
      ->check(CLI::Range(1, 10000));
  convert_cmd->add_option("--threads", cl.threads, "threads (default: all cores)")
      ->check(kThreadCount);
  commands.convert = convert_cmd;

  BenchOptions& bench = cl.bench;
  CLI::App* bench_cmd =
      app.add_subcommand("bench", "time training batches of the standard workloads");
  bench_cmd->add_option("workloads", bench.workloads, "W1 W2 W3 (default: W1 W2)");
  bench_cmd->add_option("--batches", bench.measured_batches, "measured batches per workload")
      ->check(CLI::PositiveNumber);
  bench_cmd->add_option("--warmup", bench.warmup_batches, "warm-up batches (not measured)")
      ->check(CLI::NonNegativeNumber);
  bench_cmd->add_option("--threads", bench.threads, "threads (default: all cores)")
      ->check(kThreadCount);
  bench_cmd->add_flag("--interleave", bench.interleave,
                      "run the workloads in one process, alternating batches, and print each "
                      "one's time relative to the first (e.g. W1 W1_regulated)");
  bench_cmd->add_option("--experiments", bench.experiments_directory,
                        "directory holding w1.toml, w2.toml, w3.toml");
  bench_cmd->add_flag("--json", bench.json, "print JSON instead of a table");
  bench_cmd
      ->add_option("--time-steps", bench.time_steps,
                   "sweep T (e.g. 4 8 16 32): one child process per (T, method)")
      ->check(CLI::Range(1, 100000));
  bench_cmd->add_option("--method", bench.methods, "sweep train.method: bptt rate");
  bench_cmd->add_option("--set", bench.overrides,
                        "override a key in every workload's config (e.g. gemm_precision=bf16)");
  commands.bench = bench_cmd;

  CLI::App* reference_cmd = app.add_subcommand(
      "config-reference", "print every config key with its type, default and allowed values");
  reference_cmd->add_option("--experiments", cl.experiments_directory,
                            "directory of the ready configs the reference reads");
  reference_cmd->add_option("--output", cl.reference_output,
                            "write to this file instead of standard output");
  commands.config_reference = reference_cmd;
}

void add_study_commands(CLI::App& app, CommandLine& cl, Commands& commands) {
  CLI::App* advise_cmd = app.add_subcommand(
      "advise", "stability-based init and surrogate choice (seed 003, conditions I-IV)");
  advise_cmd->add_option("config", cl.config_path, "experiment config (TOML)")->required();
  advise_cmd->add_option("--set", cl.overrides, "override a config key before advising");
  advise_cmd->add_option("--apply", cl.apply_path, "write the advised config to this file");
  commands.advise = advise_cmd;

  ReproduceOptions& reproduce = cl.reproduce;
  CLI::App* reproduce_cmd = app.add_subcommand(
      "reproduce", "reproduce a published finding: saturation, sg-stability, ahsar, sleep");
  reproduce_cmd->add_option("study", reproduce.name, "saturation | sg-stability | ahsar | sleep")
      ->required();
  reproduce_cmd->add_flag("--quick", reproduce.quick, "reduced grid on data subsets (CI)");
  reproduce_cmd->add_option("--threads", reproduce.threads, "threads (default: all cores)")
      ->check(kThreadCount);
  reproduce_cmd->add_option("--experiments", reproduce.experiments_directory,
                            "directory holding the base configs");
  reproduce_cmd->add_option("--output", reproduce.output_directory,
                            "where runs/reproduce_<study>/ goes (default: runs)");
  commands.reproduce = reproduce_cmd;

  SweepCommand& sweep = cl.sweep;
  CLI::App* sweep_cmd = app.add_subcommand(
      "sweep", "train a grid of config values x seeds, several runs at a time, and summarize");
  sweep_cmd->add_option("grid", sweep.grid_file, "sweep file (TOML): base, seeds, [grid]")
      ->required();
  sweep_cmd->add_option("--workers", sweep.workers, "runs at a time (default 1)")
      ->check(CLI::Range(1, 1024));
  sweep_cmd
      ->add_option("--threads", sweep.threads,
                   "threads per run (default: the cores shared among the workers)")
      ->check(kThreadCount);
  sweep_cmd->add_flag("--no-progress", sweep.no_progress, "no line per finished run");
  commands.sweep = sweep_cmd;

  CLI::App* report_cmd =
      app.add_subcommand("report", "(re)write runs/<name>/report.html from its metrics");
  report_cmd->add_option("run_directory", cl.run_directory, "runs/<name>")->required();
  commands.report = report_cmd;
}

int run_config_reference(const CommandLine& cl) {
  const std::string reference = config_reference(cl.experiments_directory);
  if (cl.reference_output.empty()) {
    std::fputs(reference.c_str(), stdout);
    return 0;
  }
  write_file_atomically(cl.reference_output, reference);
  std::printf("written: %s\n", cl.reference_output.c_str());
  return 0;
}

int dispatch(const Commands& commands, CommandLine& cl, Communicator* world) {
  if (*commands.train) {
    return run_train(cl.config_path, cl.overrides, cl.resume, cl.threads, cl.no_progress,
                     cl.stop_after, world);
  }
  if (*commands.simulate)
    return run_simulate(cl.config_path, cl.overrides, cl.threads, cl.no_progress);
  if (*commands.eval) {
    return run_eval(cl.checkpoint, cl.data_argument, cl.limit, cl.threads, cl.corrupt_argument);
  }
  if (*commands.convert) {
    apply_threads(cl.threads);
    return run_convert_events(cl.convert);
  }
  if (*commands.bench) return run_bench(cl.bench);
  if (*commands.advise) return run_advise(cl.config_path, cl.overrides, cl.apply_path);
  if (*commands.reproduce) return run_reproduce(cl.reproduce);
  if (*commands.config_reference) return run_config_reference(cl);
  if (*commands.sweep) return run_sweep_command(cl.sweep, world);
  if (*commands.report) {
    write_report(cl.run_directory);
    std::printf("written: %s/report.html\n", cl.run_directory.c_str());
  }
  return 0;
}

// Runs the chosen command; every error kind becomes its own exit code (main.cpp's header).
// `raised`: the code comes from an error (an exception), not from the command's own result.
int run_reporting_errors(const Commands& commands, CommandLine& cl, Communicator* world,
                         bool& raised) {
  const char* prefix = error_prefix().c_str();
  raised = true;
  try {
    const int code = dispatch(commands, cl, world);
    raised = false;
    return code;
  } catch (const ConfigError& e) {
    const std::string message = e.what();
    std::fprintf(stderr, "%s%s%s\n", prefix,
                 message.starts_with("config error") ? "" : "config error: ", message.c_str());
    return 2;
  } catch (const DataError& e) {
    std::fprintf(stderr, "%sdata error: %s\n", prefix, e.what());
    return 3;
  } catch (const DivergenceError& e) {
    std::fprintf(stderr, "\n%serror: %s\n", prefix, e.what());
    return 4;
  } catch (const AlarmError& e) {
    std::fprintf(stderr, "\n%sstopped by the activity guard: %s\n", prefix, e.what());
    return 5;
  } catch (const std::bad_alloc&) {
    std::fprintf(stderr,
                 "%serror: out of memory (the run asked for more memory than the machine could "
                 "give; make the network, train.batch_size or data.time_steps smaller, or free "
                 "memory)\n",
                 prefix);
    return 1;
  } catch (const std::filesystem::filesystem_error& e) {
    std::fprintf(stderr, "%serror: file system: %s\n", prefix, e.what());
    return 1;
  } catch (const nlohmann::json::exception& e) {
    std::fprintf(stderr, "%serror: unreadable JSON in a file homeostat read (%s)\n", prefix,
                 e.what());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%serror: %s\n", prefix, e.what());
    return 1;
  }
}

// Under an MPI launcher: `train` joins the MPI world (data-parallel, train.shards) and so does
// `sweep` (its runs dealt out over the ranks); every other command runs in one process only. A
// rank that fails with an error stops every rank (MPI_Abort), so none is left waiting for it.
int run_under_launcher(const Commands& commands, CommandLine& cl) {
  const int ranks = launcher_world_size();
  bool raised = false;
  if (!*commands.train && !*commands.sweep) {
    if (ranks == 1) return run_reporting_errors(commands, cl, nullptr, raised);
    std::fprintf(stderr,
                 "usage error: only `homeostat train` and `homeostat sweep` run on several MPI "
                 "ranks (this launcher started %d); run the other commands without mpirun\n",
                 ranks);
    return 2;
  }
  if (!built_with_mpi() && ranks == 1) return run_reporting_errors(commands, cl, nullptr, raised);
  std::unique_ptr<MpiWorld> world;
  try {
    world = std::make_unique<MpiWorld>();
  } catch (const Error& e) {
    std::fprintf(stderr, "config error: %s\n", e.what());
    return 2;
  }
  if (world->size() > 1 && !world->is_root()) {
    error_prefix() = "homeostat: " + world->describe() + " failed: ";
  }
  const int code = run_reporting_errors(commands, cl, world.get(), raised);
  // A command's own result (a sweep with failed runs: 1 on every rank) ends normally.
  if (raised && world->size() > 1) world->abort(code);
  return code;
}

int run_command_line(int argc, char** argv) {
  CLI::App app{"homeostat: spiking neural networks that stay stable"};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string("homeostat ") + kVersion);
  CommandLine command_line;
  Commands commands;
  add_training_commands(app, command_line, commands);
  add_tool_commands(app, command_line, commands);
  add_study_commands(app, command_line, commands);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help and --version end here too (CLI11 prints them; exit 0); a command line that does
    // not parse is a usage error, exit 2 like a config error (CLI11's own codes are 100+).
    return app.exit(e) == 0 ? 0 : 2;
  }
  if (launched_by_mpi_launcher()) return run_under_launcher(commands, command_line);
  bool raised = false;
  return run_reporting_errors(commands, command_line, nullptr, raised);
}

}  // namespace
}  // namespace homeostat

int main(int argc, char** argv) {
  // The commands report their own errors; this catches what escapes setting them up.
  try {
    return homeostat::run_command_line(argc, argv);
  } catch (const std::bad_alloc&) {
    std::fprintf(stderr, "error: out of memory\n");
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
  } catch (...) {
    std::fprintf(stderr, "error: unknown exception\n");
  }
  return 1;
}
