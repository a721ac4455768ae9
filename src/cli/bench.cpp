#include "cli/bench.hpp"

#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>

#include "common/error.hpp"
#include "data/dataset.hpp"
#include "io/experiment_config.hpp"
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

double percentile(std::vector<double> values, double fraction) {
  std::sort(values.begin(), values.end());
  const auto index =
      static_cast<std::size_t>(fraction * static_cast<double>(values.size() - 1) + 0.5);
  return values[index];
}

// Runs in the child process.
nlohmann::json measure(const std::string& workload, const BenchOptions& options) {
  std::string lower = workload;
  std::transform(lower.begin(), lower.end(), lower.begin(), ::tolower);
  const std::string path = options.experiments_directory + "/" + lower + ".toml";
  const ExperimentConfig config = load_experiment(path);
  if (options.threads > 0) set_thread_count(options.threads);
  const std::size_t batches = options.warmup_batches + options.measured_batches;
  const std::size_t batch_size = config.train.batch_size;
  const Dataset data = load_idx_split(config.data.directory, "train", batches * batch_size);
  Network<float> network = build_network<float>(config.layers, network_input_shape(config),
                                                config.data.time_steps, config.seed);
  Optimizer<float> optimizer(config.train.optimizer, network.parameters());
  ActivityMonitor<float> monitor(network);
  Homeostasis<float> homeostasis(config.homeostasis, network);
  TrainingStep step(config, network, optimizer, monitor, homeostasis);
  std::vector<std::size_t> indices(batch_size);
  std::vector<std::int32_t> labels(batch_size);
  std::vector<double> milliseconds;
  std::vector<double> rates;
  for (std::size_t batch = 0; batch < batches; ++batch) {
    for (std::size_t i = 0; i < batch_size; ++i) {
      indices[i] = (batch * batch_size + i) % data.size();
      labels[i] = data.labels[indices[i]];
    }
    const auto start = std::chrono::steady_clock::now();
    const std::size_t batches_per_epoch = (data.size() + batch_size - 1) / batch_size;
    step.run(data, indices, labels, TrainingClock{0, batch % batches_per_epoch, batches_per_epoch},
             config.train.optimizer.learning_rate);
    const double ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    if (batch >= options.warmup_batches) milliseconds.push_back(ms);
  }
  nlohmann::json densities = nlohmann::json::object();
  for (const std::size_t i : network.spiking_layers()) {
    const Tensor<float>& spikes = network.output(i);
    double sum = 0;
    for (std::size_t e = 0; e < spikes.size(); ++e) sum += spikes[e];
    densities[network.layer(i).name()] = sum / static_cast<double>(spikes.size());
  }
  return {{"workload", workload},
          {"config", path},
          {"batch_size", batch_size},
          {"time_steps", config.data.time_steps},
          {"threads", thread_count()},
          {"blas_core", blas_core_name()},
          {"median_ms", percentile(milliseconds, 0.5)},
          {"p10_ms", percentile(milliseconds, 0.1)},
          {"p90_ms", percentile(milliseconds, 0.9)},
          {"measured_batches", milliseconds.size()},
          {"warmup_batches", options.warmup_batches},
          {"peak_rss_mb", peak_rss_megabytes()},
          {"spike_density", densities}};
}

nlohmann::json measure_in_child(const std::string& workload, const BenchOptions& options) {
  int channel[2];
  if (pipe(channel) != 0) throw Error("bench: pipe failed");
  std::fflush(nullptr);
  const pid_t child = fork();
  if (child < 0) throw Error("bench: fork failed");
  if (child == 0) {
    close(channel[0]);
    nlohmann::json result;
    try {
      result = measure(workload, options);
    } catch (const std::exception& e) {
      result = {{"workload", workload}, {"error", e.what()}};
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
  if (text.empty()) return {{"workload", workload}, {"error", "the measuring process died"}};
  return nlohmann::json::parse(text);
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
  nlohmann::json results = nlohmann::json::array();
  if (!options.json) {
    std::printf("%-4s %10s %10s %10s %12s %8s  %s\n", "", "median ms", "p10 ms", "p90 ms",
                "peak RSS MB", "threads", "spike density per layer");
  }
  bool failed = false;
  for (const std::string& w : workloads) {
    const nlohmann::json r = measure_in_child(w, options);
    results.push_back(r);
    if (options.json) continue;
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
  if (options.json) std::printf("%s\n", results.dump(2).c_str());
  if (!options.json && !results.empty() && !results[0].contains("error")) {
    std::printf("(batch %d, median over %zu batches after %zu warm-up; BLAS kernels: %s)\n",
                results[0]["batch_size"].get<int>(), options.measured_batches,
                options.warmup_batches, results[0]["blas_core"].get<std::string>().c_str());
  }
  return failed ? 1 : 0;
}

}  // namespace homeostat
