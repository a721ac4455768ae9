// The driver of protocol "ncg": the epochs, their accuracy records and progress lines.
#include <algorithm>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "common/flush_denormals.hpp"
#include "plasticity/ncg.hpp"
#include "run/simulate_run.hpp"

namespace homeostat {
namespace {

// Training accuracy is measured on the first kTrainAccuracyImages training images only.
constexpr std::size_t kTrainAccuracyImages = 5000;

struct EpochAccuracy {
  std::size_t epoch = 0;  // 1-based
  double train = 0.0;
  double test = 0.0;
  double seconds = 0.0;  // since training started
};

void print_epoch(const EpochAccuracy& a, std::size_t epochs, std::size_t train_measured) {
  std::fprintf(stderr, "epoch %zu/%zu: train accuracy %.2f%% (first %zu) test %.2f%% (%.0f s)\n",
               a.epoch, epochs, 100.0 * a.train, train_measured, 100.0 * a.test, a.seconds);
}

nlohmann::json epoch_record(const EpochAccuracy& a) {
  nlohmann::json r;
  r["kind"] = "epoch";
  r["epoch"] = a.epoch;
  r["train_accuracy"] = a.train;
  r["test_accuracy"] = a.test;
  r["seconds"] = a.seconds;
  return r;
}

}  // namespace

SimulationResult run_ncg(const SimulationConfig& config, const Dataset& train, const Dataset& test,
                         const SimulationOptions& options) {
  check_simulation_data(train, test);
  const ScopedFlushDenormals flush_denormals;  // common/flush_denormals.hpp
  SimulationResult result;
  std::optional<RunDirectory> run = open_simulation_run(config, options);
  if (run) result.run_directory = run->path();
  const std::size_t classes = std::max<std::size_t>(train.num_classes, 2);
  NcgClassifier ncg(train.sample_size(), classes, config.ncg);
  const std::size_t n = std::min(config.train_images, train.size());
  const std::size_t train_measured = std::min(n, kTrainAccuracyImages);
  const auto start = std::chrono::steady_clock::now();
  for (std::size_t epoch = 0; epoch < config.epochs; ++epoch) {
    ncg.train_epoch(train, image_order(n, config, epoch), epoch);
    EpochAccuracy accuracy;
    accuracy.epoch = epoch + 1;
    accuracy.seconds = seconds_since(start);
    accuracy.train = ncg.accuracy(train, train_measured);
    accuracy.test = ncg.accuracy(test, config.test_images);
    if (options.progress) print_epoch(accuracy, config.epochs, train_measured);
    if (run) run->append_metrics(epoch_record(accuracy));
    result.test_accuracy = accuracy.test;
    result.running_train_accuracy = accuracy.train;
  }
  result.train_images = n * config.epochs;
  result.presentations = result.train_images;
  result.train_seconds = seconds_since(start);
  result.train_images_per_second = static_cast<double>(result.train_images) / result.train_seconds;
  result.final_weights = ncg.weights;
  return result;
}

}  // namespace homeostat
