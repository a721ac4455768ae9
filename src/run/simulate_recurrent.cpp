// The driver of seed 002's recurrent network (protocol "recurrent"): the plastic weight sum
// recorded kRecords times over training (and before it) in metrics.jsonl and the result, a result
// record, the progress line.
#include <algorithm>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>

#include "common/flush_denormals.hpp"
#include "metrics/progress.hpp"
#include "plasticity/recurrent_network.hpp"
#include "run/simulate_run.hpp"

namespace homeostat {
namespace {

constexpr std::size_t kRecords = 50;  // batch records over training (at least one per image)

// Sees every training image: records the weight sum every `every` images (and at the end), shows
// the progress line.
class TrainingReporter {
 public:
  TrainingReporter(RecurrentNetwork& net, const SimulationConfig& config,
                   const SimulationOptions& options, std::optional<RunDirectory>& run,
                   SimulationResult& result, std::size_t total_images)
      : net_(net),
        config_(config),
        show_progress_(options.progress),
        run_(run),
        result_(result),
        total_images_(total_images),
        every_(std::max<std::size_t>(1, total_images / kRecords)),
        progress_(options.progress, config.progress_seconds) {}

  void operator()(const RecurrentImage& image) {
    for (const double c : image.counts) spikes_ += c;
    if (image.done % every_ == 0 || image.done == total_images_) record(image.done);
    if (!show_progress_) return;
    const double per_image = seconds_since(start_) / static_cast<double>(image.done);
    progress_.update(image.epoch + 1, config_.epochs, image.done, total_images_, 0.0, 0.0, {},
                     1e3 * per_image, per_image * static_cast<double>(total_images_ - image.done));
  }

  // The weight sum after `images` training images (0: before training) into the result's
  // trajectory and a batch record.
  void record(std::size_t images) {
    const double sum = net_.plastic_weight_sum();
    result_.weight_sum_trajectory.push_back(sum);
    const double initial = net_.initial_plastic_weight_sum();
    nlohmann::json r;
    r["kind"] = "batch";
    r["phase"] = "train";
    r["images"] = images;
    r["weight_sum"] = sum;
    r["weight_sum_ratio"] = initial > 0 ? sum / initial : 0.0;
    r["input_weight_sum"] = net_.input_weight_sum();
    r["recurrent_weight_sum"] = net_.recurrent_weight_sum();
    r["exc_rate_hz"] =
        images ? spikes_ / (static_cast<double>(net_.excitatory_count()) *
                            static_cast<double>(every_) * config_.presentation_ms * 1e-3)
               : 0.0;
    r["sleep_steps"] = net_.slept_steps();
    if (run_) run_->append_metrics(r);
    spikes_ = 0.0;
  }

  void finish_line() { progress_.finish_line(); }

 private:
  RecurrentNetwork& net_;
  const SimulationConfig& config_;
  bool show_progress_;
  std::optional<RunDirectory>& run_;
  SimulationResult& result_;
  std::size_t total_images_;
  std::size_t every_;
  double spikes_ = 0.0;  // excitatory spikes since the last record
  ProgressLine progress_;
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
};

// Trains with the reporter watching; fills the result's training fields.
void train_with_records(RecurrentNetwork& net, const SimulationConfig& config, const Dataset& train,
                        const SimulationOptions& options, std::optional<RunDirectory>& run,
                        SimulationResult& result) {
  const std::size_t total_images = std::min(config.train_images, train.size()) * config.epochs;
  TrainingReporter reporter(net, config, options, run, result, total_images);
  reporter.record(0);
  const auto start = std::chrono::steady_clock::now();
  train_recurrent(net, config, train, std::ref(reporter));
  reporter.finish_line();
  result.train_images = total_images;
  result.presentations = total_images;
  result.train_seconds = seconds_since(start);
  result.train_images_per_second = static_cast<double>(total_images) / result.train_seconds;
  result.sleep_steps = net.slept_steps();
  result.fraction_at_bounds = net.fraction_at_bounds();
}

nlohmann::json result_record(const SimulationResult& result, double initial_weight_sum) {
  nlohmann::json r;
  r["kind"] = "result";
  r["train_images"] = result.train_images;
  r["train_seconds"] = result.train_seconds;
  r["train_images_per_s"] = result.train_images_per_second;
  r["readout_train_accuracy"] = result.running_train_accuracy;
  r["test_accuracy"] = result.test_accuracy;
  r["sleep_steps"] = result.sleep_steps;
  r["fraction_at_bounds"] = result.fraction_at_bounds;
  r["weight_sum_final_ratio"] =
      initial_weight_sum > 0 ? result.weight_sum_trajectory.back() / initial_weight_sum : 0.0;
  return r;
}

}  // namespace

SimulationResult run_recurrent(const SimulationConfig& config, const Dataset& train_full,
                               const Dataset& test_full, const SimulationOptions& options) {
  check_simulation_data(train_full, test_full);
  const ScopedFlushDenormals flush_denormals;  // common/flush_denormals.hpp
  SimulationResult result;
  const Dataset train = downsample_images(train_full, config.downsample);
  const Dataset test = downsample_images(test_full, config.downsample);
  RecurrentNetwork net(config, train.sample_size());
  std::optional<RunDirectory> run = open_simulation_run(config, options);
  if (run) result.run_directory = run->path();
  train_with_records(net, config, train, options, run, result);
  const RecurrentEvaluation evaluation = evaluate_recurrent(net, config, train, test);
  result.running_train_accuracy = evaluation.readout_train_accuracy;
  result.test_accuracy = evaluation.test_accuracy;
  result.test_predictions = evaluation.test_predictions;
  result.final_weights = net.plastic_weights();
  if (run) run->append_metrics(result_record(result, net.initial_plastic_weight_sum()));
  return result;
}

}  // namespace homeostat
