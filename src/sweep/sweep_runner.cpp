#include "sweep/sweep_runner.hpp"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string_view>
#include <thread>

#include "common/atomic_file.hpp"
#include "common/error.hpp"
#include "distributed/mpi_world.hpp"
#include "run/run_directory.hpp"
#include "sweep/sweep_summary.hpp"

extern char** environ;

namespace homeostat {
namespace {

using Clock = std::chrono::steady_clock;
constexpr const char* kSpecFile = "sweep.toml";
constexpr const char* kResultsFile = "results.jsonl";
constexpr const char* kRankResultsPrefix = "results.rank";

volatile std::sig_atomic_t stop_requested = 0;
extern "C" void request_stop(int /*signal*/) { stop_requested = 1; }

// SIGINT and SIGTERM ask the sweep to stop (the children get them too, from the terminal, or from
// the sweep): without SA_RESTART, so waitpid returns at once. The old handlers come back after.
class StopSignals {
 public:
  StopSignals() {
    stop_requested = 0;
    struct sigaction action {};
    action.sa_handler = request_stop;
    sigemptyset(&action.sa_mask);
    sigaction(SIGINT, &action, &old_interrupt_);
    sigaction(SIGTERM, &action, &old_terminate_);
  }
  ~StopSignals() {
    sigaction(SIGINT, &old_interrupt_, nullptr);
    sigaction(SIGTERM, &old_terminate_, nullptr);
  }
  StopSignals(const StopSignals&) = delete;
  StopSignals& operator=(const StopSignals&) = delete;

 private:
  struct sigaction old_interrupt_ {};
  struct sigaction old_terminate_ {};
};

std::map<std::string, nlohmann::json> read_results(const std::filesystem::path& path) {
  std::map<std::string, nlohmann::json> results;
  std::ifstream in(path);
  if (!in) return results;
  std::string line;
  std::size_t number = 0;
  while (std::getline(in, line)) {
    ++number;
    if (line.empty()) continue;
    const nlohmann::json record = nlohmann::json::parse(line, nullptr, false);
    if (!record.is_object() || !record.contains("run") || !record["run"].is_string() ||
        !record.contains("status") || !record["status"].is_string() ||
        !record.contains("metrics") || !record["metrics"].is_object()) {
      throw DataError("'" + path.string() + "' line " + std::to_string(number) +
                      " is not a sweep result (was the file edited?)");
    }
    results[record["run"].get<std::string>()] = record;
  }
  return results;
}

// results.jsonl and every rank's results.rank<r>.jsonl of a sweep on MPI ranks.
std::map<std::string, nlohmann::json> read_all_results(const std::filesystem::path& folder) {
  std::map<std::string, nlohmann::json> results = read_results(folder / kResultsFile);
  if (!std::filesystem::is_directory(folder)) return results;
  for (const auto& entry : std::filesystem::directory_iterator(folder)) {
    const std::string name = entry.path().filename().string();
    if (name.starts_with(kRankResultsPrefix) && name.ends_with(".jsonl")) {
      results.merge(read_results(entry.path()));
    }
  }
  return results;
}

std::filesystem::path rank_results_file(const std::filesystem::path& folder,
                                        const Communicator& communicator) {
  if (communicator.size() == 1) return folder / kResultsFile;
  return folder / (kRankResultsPrefix + std::to_string(communicator.rank()) + ".jsonl");
}

// The environment of a run: this process's, less an MPI launcher's variables, so that a run
// started by a sweep on MPI ranks is a plain process and not one more rank.
std::vector<std::string> run_environment() {
  std::vector<std::string> environment;
  for (char** variable = environ; *variable != nullptr; ++variable) {
    if (!is_launcher_variable(*variable)) environment.emplace_back(*variable);
  }
  return environment;
}

void write_results(const std::filesystem::path& path,
                   const std::map<std::string, nlohmann::json>& results) {
  std::string text;
  for (const auto& [name, record] : results) text += record.dump() + "\n";
  write_file_atomically(path, text);
}

// The figures of a run's last epoch record ("rate.hidden" reads record["rate"]["hidden"]); a
// figure the record does not hold is null.
nlohmann::json last_epoch_figures(const std::filesystem::path& metrics_file,
                                  const std::vector<std::string>& metrics) {
  nlohmann::json last;
  std::ifstream in(metrics_file);
  std::string line;
  while (std::getline(in, line)) {
    const nlohmann::json record = nlohmann::json::parse(line, nullptr, false);
    if (record.is_object() && record.value("kind", "") == "epoch") last = record;
  }
  nlohmann::json figures = nlohmann::json::object();
  for (const std::string& metric : metrics) {
    const auto dot = metric.find('.');
    const nlohmann::json* value = nullptr;
    if (last.is_object() && dot == std::string::npos && last.contains(metric)) {
      value = &last[metric];
    } else if (last.is_object() && dot != std::string::npos) {
      const std::string key = metric.substr(0, dot);
      const std::string layer = metric.substr(dot + 1);
      if (last.contains(key) && last[key].is_object() && last[key].contains(layer)) {
        value = &last[key][layer];
      }
    }
    figures[metric] = value != nullptr && value->is_number() ? *value : nlohmann::json();
  }
  return figures;
}

std::string duration_text(double seconds) {
  const auto total = static_cast<long>(std::lround(std::max(0.0, seconds)));
  char text[32];
  if (seconds < 59.5) {
    std::snprintf(text, sizeof text, "%.1fs", std::max(0.0, seconds));
  } else if (total >= 3600) {
    std::snprintf(text, sizeof text, "%ldh%02ldm", total / 3600, total / 60 % 60);
  } else {
    std::snprintf(text, sizeof text, "%ldm%02lds", total / 60, total % 60);
  }
  return text;
}

struct Child {
  const SweepRun* run = nullptr;
  Clock::time_point started;
};

// `homeostat train <base> --set ... --threads N --no-progress [--resume]`, its stdout and stderr
// to `log` (appended to when resuming).
pid_t start_run(const SweepSpec& spec, const SweepRun& run, const SweepOptions& options,
                int threads, bool resume, const std::filesystem::path& log) {
  std::vector<std::string> arguments = {options.executable.string(), "train", spec.base.string()};
  arguments.reserve(arguments.size() + 2 * run.overrides.size() + 4);
  for (const std::string& o : run.overrides) {
    arguments.emplace_back("--set");
    arguments.push_back(o);
  }
  arguments.emplace_back("--threads");
  arguments.push_back(std::to_string(threads));
  arguments.emplace_back("--no-progress");
  if (resume) arguments.emplace_back("--resume");
  std::vector<char*> argv;
  argv.reserve(arguments.size() + 1);
  for (std::string& a : arguments) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<std::string> environment = run_environment();
  std::vector<char*> envp;
  envp.reserve(environment.size() + 1);
  for (std::string& e : environment) envp.push_back(e.data());
  envp.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, log.c_str(),
                                   O_WRONLY | O_CREAT | (resume ? O_APPEND : O_TRUNC), 0644);
  posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
  pid_t pid = 0;
  const int failure =
      posix_spawn(&pid, options.executable.c_str(), &actions, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  if (failure != 0) {
    throw Error("sweep: cannot start '" + options.executable.string() +
                "': " + std::strerror(failure));
  }
  return pid;
}

int exit_code_of(int wait_status) {
  if (WIFEXITED(wait_status)) return WEXITSTATUS(wait_status);
  if (WIFSIGNALED(wait_status)) return 128 + WTERMSIG(wait_status);
  return 1;
}

// The sweep's folder: locked for this sweep; sweep.toml written on the first start and compared
// on every later one, so results of another grid are never mixed in.
void claim_folder(const SweepSpec& spec, const RunDirectory& folder) {
  const std::filesystem::path spec_file = folder.file(kSpecFile);
  if (std::filesystem::exists(spec_file)) {
    std::ifstream in(spec_file);
    const std::string stored((std::istreambuf_iterator<char>(in)),
                             std::istreambuf_iterator<char>());
    if (stored != spec.resolved_toml) {
      throw ConfigError("sweep: '" + folder.path().string() + "' holds a sweep started with " +
                        "another grid (its " + kSpecFile + " differs from '" +
                        spec.grid_file.string() +
                        "'); give this sweep another name, or remove that folder");
    }
  } else {
    write_file_atomically(spec_file, spec.resolved_toml);
  }
  std::filesystem::create_directories(folder.file("logs"));
}

// The runs of one start of a sweep on this rank: up to `workers` child processes at a time,
// each result recorded (this rank's results file rewritten atomically) as its run ends.
class SweepPool {
 public:
  SweepPool(const SweepSpec& spec, const SweepOptions& options, const std::filesystem::path& folder,
            const Communicator& communicator)
      : spec_(spec),
        options_(options),
        folder_(folder),
        results_file_(rank_results_file(folder, communicator)),
        runs_(sweep_runs(spec)),
        ranks_(static_cast<std::size_t>(communicator.size())),
        rank_(static_cast<std::size_t>(communicator.rank())) {
    // This rank's runs and their results only: the other ranks write their own files.
    const std::map<std::string, nlohmann::json> earlier = read_all_results(folder);
    for (std::size_t index = rank_; index < runs_.size(); index += ranks_) {
      const SweepRun& run = runs_[index];
      ++outcome_.runs;
      const auto found = earlier.find(run.name);
      if (found != earlier.end()) results_[run.name] = found->second;
      if (found != earlier.end() && found->second["status"] != "failed") {
        ++outcome_.already_finished;
      } else {
        pending_.push_back(&run);
      }
    }
    // The machine's cores shared among the workers of every rank on it.
    const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    const int ranks_here = communicator.size() > 1 ? launcher_local_size() : 1;
    threads_ = options.threads_per_run > 0 ? options.threads_per_run
                                           : std::max(1, cores / (options.workers * ranks_here));
  }

  // An error that leaves the pool (a results file that cannot be written) stops the runs it
  // started: none is left running unwatched, and each keeps its last checkpoint.
  ~SweepPool() {
    for (const auto& [pid, child] : running_) ::kill(pid, SIGTERM);
    for (const auto& [pid, child] : running_) ::waitpid(pid, nullptr, 0);
  }
  SweepPool(const SweepPool&) = delete;
  SweepPool& operator=(const SweepPool&) = delete;

  SweepOutcome run() {
    std::printf(
        "homeostat sweep '%s': %zu grid points x %zu seeds = %zu runs of %s%s, %d worker(s) x %d "
        "thread(s); %zu already finished; folder %s\n",
        spec_.name.c_str(), sweep_points(spec_).size(), spec_.seeds.size(), runs_.size(),
        spec_.base.string().c_str(), rank_text().c_str(), options_.workers, threads_,
        outcome_.already_finished, folder_.string().c_str());
    std::fflush(stdout);
    const StopSignals signals;
    while (next_ < pending_.size() || !running_.empty()) {
      if (stop_requested && !outcome_.interrupted) {
        outcome_.interrupted = true;
        for (const auto& [pid, child] : running_) ::kill(pid, SIGTERM);
      }
      start_ready_runs();
      if (running_.empty()) break;
      wait_for_one();
    }
    return outcome_;
  }

  [[nodiscard]] const std::map<std::string, nlohmann::json>& results() const { return results_; }

 private:
  // " (rank 1 of 2: 4 of them)" on MPI ranks.
  [[nodiscard]] std::string rank_text() const {
    if (ranks_ == 1) return {};
    return " (rank " + std::to_string(rank_) + " of " + std::to_string(ranks_) + ": " +
           std::to_string(outcome_.runs) + " of them)";
  }

  void start_ready_runs() {
    while (!outcome_.interrupted && next_ < pending_.size() &&
           running_.size() < static_cast<std::size_t>(options_.workers)) {
      const SweepRun& run = *pending_[next_++];
      const bool resume = std::filesystem::exists(folder_ / run.name / "checkpoint.bin");
      const pid_t pid = start_run(spec_, run, options_, threads_, resume, log_of(run));
      running_[pid] = {&run, Clock::now()};
    }
  }

  void wait_for_one() {
    int wait_status = 0;
    const pid_t pid = ::waitpid(-1, &wait_status, 0);
    if (pid < 0) {
      if (errno == EINTR) return;  // a stop signal: handled by the loop
      throw Error(std::string("sweep: waiting for the runs failed: ") + std::strerror(errno));
    }
    const auto child = running_.find(pid);
    if (child == running_.end()) return;
    const SweepRun& run = *child->second.run;
    const double seconds =
        std::chrono::duration<double>(Clock::now() - child->second.started).count();
    running_.erase(child);
    const int exit_code = exit_code_of(wait_status);
    // Stopped by the sweep's own stop: no result, so the next start resumes it.
    if (outcome_.interrupted && exit_code >= 128) return;
    record(run, exit_code, seconds);
  }

  void record(const SweepRun& run, int exit_code, double seconds) {
    const std::string status = sweep_run_status(exit_code);
    nlohmann::json result = {{"run", run.name},           {"point", run.point},
                             {"seed", run.seed},          {"status", status},
                             {"exit_code", exit_code},    {"seconds", seconds},
                             {"overrides", run.overrides}};
    result["metrics"] =
        last_epoch_figures(folder_ / run.name / RunDirectory::kMetricsFile, spec_.metrics);
    results_[run.name] = result;
    write_results(results_file_, results_);
    status == "failed" ? ++outcome_.failed : ++outcome_.finished;
    seconds_of_runs_ += seconds;
    ++timed_runs_;
    if (options_.progress) print_progress(run, result, seconds);
  }

  // "[3/8] p1_s1 ok  test_accuracy 0.912  (41.2s; 2 running; elapsed 1m30s, ETA 2m05s)"
  void print_progress(const SweepRun& run, const nlohmann::json& result, double seconds) const {
    std::string figures;
    for (const auto& [metric, value] : result["metrics"].items()) {
      char number[32] = "n/a";
      if (value.is_number()) std::snprintf(number, sizeof number, "%.4g", value.get<double>());
      figures.append("  ").append(metric).append(" ").append(number);
    }
    const std::size_t left = pending_.size() - next_ + running_.size();
    const double eta = seconds_of_runs_ / static_cast<double>(timed_runs_) *
                       static_cast<double>(left) / static_cast<double>(options_.workers);
    const std::string status = result["status"].get<std::string>();
    std::printf("[%zu/%zu] %-12s %-8s%s  (%s; %zu running; elapsed %s, ETA %s)\n",
                outcome_.already_finished + outcome_.finished + outcome_.failed, outcome_.runs,
                run.name.c_str(), status.c_str(), figures.c_str(), duration_text(seconds).c_str(),
                running_.size(),
                duration_text(std::chrono::duration<double>(Clock::now() - start_).count()).c_str(),
                duration_text(left == 0 ? 0.0 : eta).c_str());
    if (status == "failed") {
      std::printf("        exit code %d: see %s\n", result["exit_code"].get<int>(),
                  log_of(run).string().c_str());
    }
    std::fflush(stdout);
  }

  [[nodiscard]] std::filesystem::path log_of(const SweepRun& run) const {
    return folder_ / "logs" / (run.name + ".log");
  }

  const SweepSpec& spec_;
  const SweepOptions& options_;
  const std::filesystem::path folder_;
  const std::filesystem::path results_file_;
  std::map<std::string, nlohmann::json> results_;
  const std::vector<SweepRun> runs_;
  const std::size_t ranks_;
  const std::size_t rank_;
  std::vector<const SweepRun*> pending_;
  std::size_t next_ = 0;
  std::map<pid_t, Child> running_;
  int threads_ = 1;
  SweepOutcome outcome_;
  double seconds_of_runs_ = 0.0;
  std::size_t timed_runs_ = 0;
  const Clock::time_point start_ = Clock::now();
};

}  // namespace

std::string sweep_run_status(int exit_code) {
  switch (exit_code) {
    case 0:
      return "ok";
    case 4:
      return "diverged";
    case 5:
      return "guard";
    default:
      return "failed";
  }
}

SweepOutcome run_sweep(const SweepSpec& spec, const SweepOptions& options) {
  if (options.workers < 1) throw ConfigError("sweep: --workers must be at least 1");
  Communicator& communicator = options.communicator ? *options.communicator : single_process();
  check_sweep_configs(spec);
  // Rank 0 holds the folder (locked for this sweep) until every rank is done.
  std::optional<RunDirectory> folder;
  if (communicator.is_root()) {
    folder.emplace(spec.directory.parent_path(), spec.name);
    claim_folder(spec, *folder);
  }
  communicator.barrier();
  const std::filesystem::path path = spec.directory.parent_path() / spec.name;
  SweepOutcome outcome;
  {
    SweepPool pool(spec, options, path, communicator);
    outcome = pool.run();
  }
  communicator.barrier();
  // Every rank's counts, so that every rank exits with the same code.
  const std::vector<double> counts{
      static_cast<double>(outcome.runs), static_cast<double>(outcome.already_finished),
      static_cast<double>(outcome.finished), static_cast<double>(outcome.failed),
      outcome.interrupted ? 1.0 : 0.0};
  const std::vector<std::span<const double>> parts{counts};
  std::vector<double> totals(counts.size());
  communicator.ordered_sum(parts, totals);
  outcome.runs = static_cast<std::size_t>(totals[0]);
  outcome.already_finished = static_cast<std::size_t>(totals[1]);
  outcome.finished = static_cast<std::size_t>(totals[2]);
  outcome.failed = static_cast<std::size_t>(totals[3]);
  outcome.interrupted = totals[4] > 0.0;
  outcome.summary = path / "summary.md";
  if (communicator.is_root()) {
    const std::map<std::string, nlohmann::json> results = read_all_results(path);
    // One results.jsonl again (also after a start on MPI ranks that was stopped); a rank's file
    // goes only once its lines are in it.
    write_results(path / kResultsFile, results);
    std::vector<std::filesystem::path> rank_files;
    for (const auto& entry : std::filesystem::directory_iterator(path)) {
      const std::string name = entry.path().filename().string();
      if (name.starts_with(kRankResultsPrefix) && name.ends_with(".jsonl")) {
        rank_files.push_back(entry.path());
      }
    }
    for (const std::filesystem::path& file : rank_files) std::filesystem::remove(file);
    const SweepSummary summary = summarize_sweep(spec, results);
    write_file_atomically(outcome.summary, summary.markdown);
    write_file_atomically(path / "summary.csv", summary.csv);
  }
  communicator.barrier();  // the summary exists before any rank reports it
  return outcome;
}

}  // namespace homeostat
