#include "cli/bench.hpp"

#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>

#include "common/error.hpp"
#include "config/experiment_reader.hpp"
#include "data/dataset.hpp"
#include "network/builder.hpp"
#include "tensor/blas.hpp"
#include "train/trainer.hpp"

namespace homeostat {
namespace {

double peak_rss_megabytes() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_maxrss) / 1024.0;
}

// Resident set size now (not the peak), from /proc/self/statm; 0 where unavailable.
double current_rss_megabytes() {
  std::FILE* file = std::fopen("/proc/self/statm", "r");
  if (!file) return 0.0;
  unsigned long size = 0;
  unsigned long resident = 0;
  const int read = std::fscanf(file, "%lu %lu", &size, &resident);
  std::fclose(file);
  if (read != 2) return 0.0;
  return static_cast<double>(resident) * static_cast<double>(sysconf(_SC_PAGESIZE)) / 1048576.0;
}

// Resets the process's peak RSS (VmHWM, ru_maxrss) to its current RSS (Linux >= 4.0), so the
// peak that follows is that of training, not of setup (reading an IDX file is a transient
// peak of its own). Returns whether it worked.
bool reset_peak_rss() {
  std::FILE* file = std::fopen("/proc/self/clear_refs", "w");
  if (!file) return false;
  const bool ok = std::fputs("5", file) >= 0;
  return std::fclose(file) == 0 && ok;
}

double percentile(std::vector<double> values, double fraction) {
  std::sort(values.begin(), values.end());
  const auto index =
      static_cast<std::size_t>(std::llround(fraction * static_cast<double>(values.size() - 1)));
  return values[index];
}

// One workload set up for timing: its config, data, network, optimizer and regulators.
class WorkloadBench {
 public:
  WorkloadBench(const std::string& workload, const BenchOptions& options,
                const std::vector<std::string>& overrides = {})
      : workload_(workload),
        path_(config_path(workload, options)),
        config_(load_experiment(path_, with_options_overrides(overrides, options))),
        data_(load_idx_split(
            config_.data.directory, "train",
            (options.warmup_batches + options.measured_batches) * config_.train.batch_size)),
        network_(build_network<float>(config_.layers, network_input_shape(config_),
                                      config_.data.time_steps, config_.seed)),
        optimizer_(config_.train.optimizer, network_.parameters()),
        monitor_(network_),
        homeostasis_(config_.homeostasis, network_),
        step_(config_, network_, optimizer_, monitor_, homeostasis_),
        indices_(config_.train.batch_size),
        labels_(config_.train.batch_size),
        setup_rss_mb_(current_rss_megabytes()) {
    network_.set_gemm_precision(config_.gemm_precision);
  }

  // Sweeps (--time-steps, --method): the peak RSS that follows is that of training alone.
  void reset_peak() {
    peak_reset_ = reset_peak_rss();
    setup_rss_mb_ = current_rss_megabytes();
  }

  // Trains batch `batch` and returns its wall-clock milliseconds.
  double run_batch(std::size_t batch) {
    const std::size_t batch_size = config_.train.batch_size;
    for (std::size_t i = 0; i < batch_size; ++i) {
      indices_[i] = (batch * batch_size + i) % data_.size();
      labels_[i] = data_.labels[indices_[i]];
    }
    const std::size_t batches_per_epoch = (data_.size() + batch_size - 1) / batch_size;
    const auto start = std::chrono::steady_clock::now();
    step_.run(data_, indices_, labels_,
              TrainingClock{0, batch % batches_per_epoch, batches_per_epoch},
              config_.train.optimizer.learning_rate);
    if (const RatePass<float>* rate = step_.rate_pass())
      rate_pass_ms_.push_back(rate->rate_pass_ms());
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
        .count();
  }

  [[nodiscard]] nlohmann::json summary(const std::vector<double>& milliseconds,
                                       const BenchOptions& options) const {
    nlohmann::json densities = nlohmann::json::object();
    const BatchActivity& last = monitor_.last_batch();
    for (std::size_t k = 0; k < last.layers.size(); ++k)
      densities[network_.layer(last.layers[k]).name()] = last.rates[k];
    return {{"workload", workload_},
            {"config", path_},
            {"batch_size", config_.train.batch_size},
            {"time_steps", config_.data.time_steps},
            {"threads", thread_count()},
            {"blas_core", blas_core_name()},
            {"blas_core_forced", blas_core_forced()},
            {"gemm_precision", gemm_precision_name(config_.gemm_precision)},
            {"median_ms", percentile(milliseconds, 0.5)},
            {"p10_ms", percentile(milliseconds, 0.1)},
            {"p90_ms", percentile(milliseconds, 0.9)},
            {"measured_batches", milliseconds.size()},
            {"warmup_batches", options.warmup_batches},
            {"peak_rss_mb", peak_rss_megabytes()},
            {"setup_rss_mb", setup_rss_mb_},
            {"peak_rss_is_training_only", peak_reset_},
            {"method", std::string(train_method_name(config_.train.method))},
            {"rate_pass_median_ms", rate_pass_ms_.empty() ? 0.0 : percentile(rate_pass_ms_, 0.5)},
            {"train_buffer_mb", static_cast<double>(step_.training_buffer_bytes()) / 1048576.0},
            {"spike_density", densities}};
  }

 private:
  // --set assignments first, so a sweep's own (T, method) override wins.
  static std::vector<std::string> with_options_overrides(const std::vector<std::string>& sweep,
                                                         const BenchOptions& options) {
    std::vector<std::string> all = options.overrides;
    all.insert(all.end(), sweep.begin(), sweep.end());
    return all;
  }

  static std::string config_path(const std::string& workload, const BenchOptions& options) {
    std::string lower = workload;
    std::transform(lower.begin(), lower.end(), lower.begin(), ::tolower);
    return options.experiments_directory + "/" + lower + ".toml";
  }

  std::string workload_;
  std::string path_;
  ExperimentConfig config_;
  Dataset data_;
  Network<float> network_;
  Optimizer<float> optimizer_;
  ActivityMonitor<float> monitor_;
  Homeostasis<float> homeostasis_;
  TrainingStep step_;
  std::vector<std::size_t> indices_;
  std::vector<std::int32_t> labels_;
  std::vector<double> rate_pass_ms_;  // rate method: rate_forward + backward per batch
  bool peak_reset_ = false;  // the peak RSS was reset after setup (else it includes setup's)
  double setup_rss_mb_;  // resident after loading data and building the network, before training
};

// Runs in the child process: one workload on its own, so peak RSS is its own.
nlohmann::json measure(const std::string& workload, const BenchOptions& options,
                       const std::vector<std::string>& overrides = {}) {
  if (options.threads > 0) set_thread_count(options.threads);
  WorkloadBench bench(workload, options, overrides);
  if (!overrides.empty()) bench.reset_peak();
  std::vector<double> milliseconds;
  for (std::size_t batch = 0; batch < options.warmup_batches + options.measured_batches; ++batch) {
    const double ms = bench.run_batch(batch);
    if (batch >= options.warmup_batches) milliseconds.push_back(ms);
  }
  return nlohmann::json::array({bench.summary(milliseconds, options)});
}

// Runs in the child process: all workloads in one process, their batches alternating in ABBA
// order, so machine drift (other load, a hypervisor's steal time) falls on each workload alike.
// For overhead comparisons such as W1 against W1_regulated; peak RSS is the whole process's.
nlohmann::json measure_interleaved(const std::vector<std::string>& workloads,
                                   const BenchOptions& options) {
  if (options.threads > 0) set_thread_count(options.threads);
  std::vector<std::unique_ptr<WorkloadBench>> benches;
  benches.reserve(workloads.size());
  for (const std::string& w : workloads)
    benches.push_back(std::make_unique<WorkloadBench>(w, options));
  std::vector<std::vector<double>> milliseconds(benches.size());
  for (std::size_t batch = 0; batch < options.warmup_batches + options.measured_batches; ++batch) {
    for (std::size_t k = 0; k < benches.size(); ++k) {
      const std::size_t w = batch % 2 == 0 ? k : benches.size() - 1 - k;
      const double ms = benches[w]->run_batch(batch);
      if (batch >= options.warmup_batches) milliseconds[w].push_back(ms);
    }
  }
  nlohmann::json results = nlohmann::json::array();
  for (std::size_t w = 0; w < benches.size(); ++w) {
    nlohmann::json r = benches[w]->summary(milliseconds[w], options);
    r["interleaved"] = true;
    results.push_back(r);
  }
  return results;
}

// Runs `measure_all` in a forked child (a fresh process per measurement, so peak RSS is its own)
// and returns its JSON array of results; a failure becomes one {"workload", "error"} entry.
template <typename Measure>
nlohmann::json measure_in_child(const std::string& label, const Measure& measure_all) {
  int channel[2];
  if (pipe(channel) != 0) throw Error("bench: pipe failed");
  std::fflush(nullptr);
  const pid_t child = fork();
  if (child < 0) throw Error("bench: fork failed");
  if (child == 0) {
    close(channel[0]);
    nlohmann::json result;
    try {
      result = measure_all();
    } catch (const std::exception& e) {
      result = nlohmann::json::array({{{"workload", label}, {"error", e.what()}}});
    }
    const std::string text = result.dump();
    std::size_t written = 0;
    while (written < text.size()) {
      const ssize_t n = write(channel[1], text.data() + written, text.size() - written);
      if (n <= 0) break;
      written += static_cast<std::size_t>(n);
    }
    close(channel[1]);
    std::_Exit(0);
  }
  close(channel[1]);
  std::string text;
  char buffer[4096];
  ssize_t n;
  while ((n = read(channel[0], buffer, sizeof buffer)) > 0)
    text.append(buffer, static_cast<std::size_t>(n));
  close(channel[0]);
  int status = 0;
  waitpid(child, &status, 0);
  if (text.empty()) {
    return nlohmann::json::array({{{"workload", label}, {"error", "the measuring process died"}}});
  }
  return nlohmann::json::parse(text);
}

// --time-steps / --method: one fresh child process per (workload, T, method), so each peak RSS
// is that configuration's own; also the bytes of the buffers kept for the backward pass.
int run_sweep(const std::vector<std::string>& workloads, const BenchOptions& options) {
  std::vector<std::string> steps_list;
  for (const std::size_t t : options.time_steps) steps_list.push_back(std::to_string(t));
  if (steps_list.empty()) steps_list.emplace_back("");
  std::vector<std::string> methods = options.methods;
  if (methods.empty()) methods.emplace_back("");
  for (const std::string& m : methods) {
    if (!m.empty()) parse_train_method(m);  // ConfigError naming the valid methods
  }
  if (!options.json) {
    std::printf("%-12s %4s %6s %10s %10s %12s %14s %16s %13s\n", "workload", "T", "method",
                "median ms", "p90 ms", "peak RSS MB", "peak-setup MB", "train buf MB",
                "rate pass ms");
  }
  nlohmann::json results = nlohmann::json::array();
  bool failed = false;
  for (const std::string& w : workloads) {
    for (const std::string& steps : steps_list) {
      for (const std::string& method : methods) {
        std::vector<std::string> overrides;
        if (!steps.empty()) overrides.push_back("data.time_steps=" + steps);
        if (!method.empty()) overrides.push_back("train.method=\"" + method + "\"");
        for (auto& r : measure_in_child(w, [&] { return measure(w, options, overrides); })) {
          results.push_back(r);
          if (options.json) continue;
          if (r.contains("error")) {
            std::printf("%-12s error: %s\n", w.c_str(), r["error"].get<std::string>().c_str());
            failed = true;
            continue;
          }
          char rate_pass[32] = "-";
          if (r["method"] == "rate")
            std::snprintf(rate_pass, sizeof rate_pass, "%.1f",
                          r["rate_pass_median_ms"].get<double>());
          std::printf("%-12s %4d %6s %10.1f %10.1f %12.1f %14.1f %16.2f %13s\n", w.c_str(),
                      r["time_steps"].get<int>(), r["method"].get<std::string>().c_str(),
                      r["median_ms"].get<double>(), r["p90_ms"].get<double>(),
                      r["peak_rss_mb"].get<double>(),
                      r["peak_rss_mb"].get<double>() - r["setup_rss_mb"].get<double>(),
                      r["train_buffer_mb"].get<double>(), rate_pass);
          std::fflush(stdout);
        }
      }
    }
  }
  if (options.json) std::printf("%s\n", results.dump(2).c_str());
  if (!options.json && !failed && !results.empty()) {
    std::printf(
        "(batch %d, median over %zu batches after %zu warm-up, %d threads; peak RSS: the whole "
        "child process, one per row, %s; peak-setup: peak RSS minus the RSS before the first "
        "batch; train buf: the buffers the method allocates for a batch, "
        "TrainingStep::training_buffer_bytes; rate pass: its one-step forward + backward, the "
        "part of a rate batch that does not grow with T)\n",
        results[0]["batch_size"].get<int>(), options.measured_batches, options.warmup_batches,
        results[0]["threads"].get<int>(),
        results[0]["peak_rss_is_training_only"].get<bool>()
            ? "reset after setup (training batches only)"
            : "including setup (clear_refs unavailable)");
  }
  return failed ? 1 : 0;
}

}  // namespace

int run_bench(const BenchOptions& options) {
  std::vector<std::string> workloads = options.workloads;
  if (workloads.empty()) workloads = {"W1", "W2"};
  // A workload is any experiments/<name>.toml (lower-case) that trains on Fashion-MNIST:
  // W1-W3, and variants such as W1_regulated (every regulator on).
  for (const std::string& w : workloads) {
    std::string lower = w;
    std::transform(lower.begin(), lower.end(), lower.begin(), ::tolower);
    const std::filesystem::path path =
        std::filesystem::path(options.experiments_directory) / (lower + ".toml");
    if (!std::filesystem::exists(path)) {
      throw ConfigError("bench: unknown workload '" + w + "': no " + path.string() +
                        " (valid: W1, W2, W3, W1_regulated)");
    }
  }
  if (!options.time_steps.empty() || !options.methods.empty()) return run_sweep(workloads, options);
  nlohmann::json results = nlohmann::json::array();
  if (!options.json) {
    std::printf("%-4s %10s %10s %10s %12s %8s  %s\n", "", "median ms", "p10 ms", "p90 ms",
                "peak RSS MB", "threads", "spike density per layer");
  }
  bool failed = false;
  nlohmann::json measured = nlohmann::json::array();
  if (options.interleave) {
    std::string label;
    for (const std::string& w : workloads) label += (label.empty() ? "" : "+") + w;
    measured = measure_in_child(label, [&] { return measure_interleaved(workloads, options); });
  } else {
    for (const std::string& w : workloads) {
      for (auto& r : measure_in_child(w, [&] { return measure(w, options); }))
        measured.push_back(r);
    }
  }
  for (const nlohmann::json& r : measured) {
    results.push_back(r);
    if (options.json) continue;
    const std::string w = r["workload"].get<std::string>();
    if (r.contains("error")) {
      std::printf("%-4s error: %s\n", w.c_str(), r["error"].get<std::string>().c_str());
      failed = true;
      continue;
    }
    std::string densities;
    for (const auto& [name, value] : r["spike_density"].items()) {
      char item[64];
      std::snprintf(item, sizeof item, "%s=%.3f ", name.c_str(), value.get<double>());
      densities += item;
    }
    std::printf("%-4s %10.1f %10.1f %10.1f %12.0f %8d  %s\n", w.c_str(),
                r["median_ms"].get<double>(), r["p10_ms"].get<double>(), r["p90_ms"].get<double>(),
                r["peak_rss_mb"].get<double>(), r["threads"].get<int>(), densities.c_str());
    std::fflush(stdout);
  }
  if (options.interleave && !options.json && results.size() > 1 && !failed) {
    const double base = results[0]["median_ms"].get<double>();
    for (std::size_t i = 1; i < results.size(); ++i) {
      std::printf("%s / %s: %.3f (median ms per batch, interleaved)\n",
                  results[i]["workload"].get<std::string>().c_str(),
                  results[0]["workload"].get<std::string>().c_str(),
                  results[i]["median_ms"].get<double>() / base);
    }
  }
  if (options.json) std::printf("%s\n", results.dump(2).c_str());
  if (!options.json && !results.empty() && !results[0].contains("error")) {
    std::printf(
        "(batch %d, median over %zu batches after %zu warm-up; BLAS kernels: %s; GEMM precision: "
        "%s%s)\n",
        results[0]["batch_size"].get<int>(), options.measured_batches, options.warmup_batches,
        blas_core_description().c_str(), results[0]["gemm_precision"].get<std::string>().c_str(),
        options.interleave ? "; interleaved in one process, peak RSS is the total" : "");
  }
  return failed ? 1 : 0;
}

}  // namespace homeostat
