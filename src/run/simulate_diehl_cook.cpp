// The driver of W4 (protocol "diehl_cook"): a batch record every kRecordEvery training images and
// a result record in metrics.jsonl, the progress line, network.ckpt, and the responses files.
#include <algorithm>
#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/atomic_file.hpp"
#include "common/flush_denormals.hpp"
#include "metrics/progress.hpp"
#include "plasticity/diehl_cook.hpp"
#include "run/simulate_run.hpp"

namespace homeostat {
namespace {

constexpr std::size_t kRecordEvery = 1000;  // training images per batch record

// A responses file (train_, label_, test_responses.bin): per image its uint32 spike count per
// excitatory neuron, then its uint32 label, for other readouts offline. Not opened (writes
// nothing) without a run directory or when not wanted. Written to a temporary file and renamed
// into place by commit() (common/atomic_file.hpp): a failed write is an Error naming the file,
// and a killed or failed run leaves no torn or empty responses file.
class ResponseFile {
 public:
  ResponseFile(const std::optional<RunDirectory>& run, std::string_view name, bool wanted) {
    if (!run || !wanted) return;
    out_.emplace(run->file(name));
  }

  void write(std::span<const std::uint32_t> counts, std::size_t label) {
    out_->write(counts.data(), counts.size() * sizeof(std::uint32_t));
    const auto l = static_cast<std::uint32_t>(label);
    out_->write(&l, sizeof l);
  }

  // What the frozen passes write through; empty when not open.
  ResponseSink sink() {
    if (!out_) return {};
    return
        [this](std::span<const std::uint32_t> counts, std::size_t label) { write(counts, label); };
  }

  [[nodiscard]] bool is_open() const { return out_.has_value(); }

  // Every response written: the file goes into place (nothing when not open).
  void commit() {
    if (out_) out_->commit();
  }

 private:
  std::optional<AtomicFileWriter> out_;
};

// The training images since the last batch record.
struct TrainingWindow {
  std::size_t images = 0;
  std::size_t presentations = 0;
  std::size_t spikes = 0;
  std::size_t tested = 0;  // by the running accuracy
  std::size_t correct = 0;
  std::vector<std::uint8_t> active;  // per neuron: fired in the window
  std::chrono::steady_clock::time_point start = std::chrono::steady_clock::now();

  explicit TrainingWindow(std::size_t neurons) : active(neurons, 0) {}

  void add(const DiehlCookImage& image) {
    presentations += image.presentations;
    if (image.correct) {
      correct += *image.correct;
      ++tested;
    }
    for (std::size_t j = 0; j < active.size(); ++j) {
      spikes += image.counts[j];
      active[j] |= image.counts[j] > 0;
    }
    ++images;
  }

  // The share of the excitatory neurons that fired in the window; clears the flags.
  double take_active_share() {
    std::size_t fired = 0;
    for (std::uint8_t& flag : active) {
      fired += flag;
      flag = 0;
    }
    return static_cast<double>(fired) / static_cast<double>(active.size());
  }

  void restart() {
    correct = tested = spikes = presentations = images = 0;
    start = std::chrono::steady_clock::now();
  }
};

// Sees every training image: the progress line, the batch records, the training responses.
class TrainingReporter {
 public:
  TrainingReporter(DiehlCookNetwork& net, const SimulationConfig& config,
                   const SimulationOptions& options, std::optional<RunDirectory>& run,
                   std::size_t total_images)
      : net_(net),
        config_(config),
        show_progress_(options.progress),
        run_(run),
        responses_(run, "train_responses.bin", config.save_responses),
        total_images_(total_images),
        window_(net.excitatory_count()),
        progress_(options.progress, config.progress_seconds) {}

  void operator()(const DiehlCookImage& image) {
    if (responses_.is_open()) responses_.write(image.counts, image.label);
    if (image.correct) {
      correct_ += *image.correct;
      ++tested_;
    }
    window_.add(image);
    const bool report = image.done % kRecordEvery == 0 || image.done == total_images_;
    if (!report && !show_progress_) return;
    update_progress(image, report);
    if (!report) return;
    if (run_) run_->append_metrics(batch_record(image));
    window_.restart();
  }

  // Training done: the progress line ends and the training responses go into place.
  void finish() {
    progress_.finish_line();
    responses_.commit();
  }

 private:
  void update_progress(const DiehlCookImage& image, bool force) {
    const double per_image = seconds_since(start_) / static_cast<double>(image.done);
    const double accuracy =
        tested_ ? static_cast<double>(correct_) / static_cast<double>(tested_) : 0;
    LayerActivity excitatory;
    excitatory.name = "exc";
    excitatory.rate = static_cast<double>(window_.spikes) /
                      (static_cast<double>(net_.excitatory_count()) *
                       static_cast<double>(std::max<std::size_t>(window_.presentations, 1)) *
                       static_cast<double>(config_.presentation_ms / config_.dt));
    progress_.update(image.epoch + 1, config_.epochs, image.done, total_images_, 0.0, accuracy,
                     {excitatory}, 1e3 * per_image,
                     per_image * static_cast<double>(total_images_ - image.done), force);
  }

  nlohmann::json batch_record(const DiehlCookImage& image) {
    const double window_seconds = seconds_since(window_.start);
    const auto neurons = static_cast<double>(net_.excitatory_count());
    const Population& excitatory = net_.simulator().population(net_.excitatory());
    double theta = 0.0;
    for (const double t : excitatory.theta) theta += t;
    nlohmann::json record;
    record["kind"] = "batch";
    record["phase"] = "train";
    record["epoch"] = image.epoch + 1;
    record["images"] = image.done;
    record["images_per_s"] = static_cast<double>(window_.images) / window_seconds;
    record["running_accuracy"] =
        window_.tested ? static_cast<double>(window_.correct) / static_cast<double>(window_.tested)
                       : 0.0;
    record["exc_rate_hz"] =
        static_cast<double>(window_.spikes) /
        (neurons * static_cast<double>(window_.presentations) * (config_.presentation_ms * 1e-3));
    record["retries"] = window_.presentations - window_.images;
    record["mean_theta_mv"] = theta / neurons;
    record["dead"] = 1.0 - window_.take_active_share();
    record["input_weight_sum"] = net_.simulator().projection(net_.input_projection()).weight_sum();
    return record;
  }

  DiehlCookNetwork& net_;
  const SimulationConfig& config_;
  bool show_progress_;
  std::optional<RunDirectory>& run_;
  ResponseFile responses_;
  std::size_t total_images_;
  std::size_t tested_ = 0;  // running accuracy, all images so far
  std::size_t correct_ = 0;
  TrainingWindow window_;
  ProgressLine progress_;
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
};

// Trains with the reporter watching; fills the result's training fields.
void train_with_records(DiehlCookNetwork& net, const SimulationConfig& config, const Dataset& train,
                        const SimulationOptions& options, std::optional<RunDirectory>& run,
                        SimulationResult& result) {
  const std::size_t total_images = std::min(config.train_images, train.size()) * config.epochs;
  TrainingReporter reporter(net, config, options, run, total_images);
  const auto start = std::chrono::steady_clock::now();
  const DiehlCookTraining training = train_diehl_cook(net, config, train, std::ref(reporter));
  reporter.finish();
  result.train_images = training.images;
  result.presentations = training.presentations;
  result.train_seconds = seconds_since(start);
  result.train_images_per_second = training.images
                                       ? static_cast<double>(training.images) / result.train_seconds
                                       : 0.0;  // 0 when evaluating only
  result.running_train_accuracy = training.running_accuracy;
}

// The frozen passes, writing their responses; fills the result's test fields.
DiehlCookEvaluation evaluate_with_responses(DiehlCookNetwork& net, const SimulationConfig& config,
                                            const Dataset& train, const Dataset& test,
                                            const std::optional<RunDirectory>& run,
                                            SimulationResult& result) {
  ResponseFile label_responses(run, "label_responses.bin", config.save_responses);
  ResponseFile test_responses(run, "test_responses.bin", true);
  DiehlCookEvaluation evaluation =
      evaluate_diehl_cook(net, config, train, test, label_responses.sink(), test_responses.sink());
  label_responses.commit();
  test_responses.commit();
  result.test_accuracy = evaluation.test_accuracy;
  result.test_accuracy_proportion = evaluation.test_accuracy_proportion;
  result.test_predictions = evaluation.test_predictions;
  result.neurons_per_class = evaluation.neurons_per_class;
  result.final_weights = net.simulator().projection(net.input_projection()).weights;
  return evaluation;
}

nlohmann::json result_record(const SimulationResult& result,
                             const DiehlCookEvaluation& evaluation) {
  nlohmann::json record;
  record["kind"] = "result";
  record["train_images"] = result.train_images;
  record["train_presentations"] = result.presentations;
  record["train_seconds"] = result.train_seconds;
  record["train_images_per_s"] = result.train_images_per_second;
  record["running_train_accuracy"] = result.running_train_accuracy;
  record["label_images"] = evaluation.label_images;
  record["test_images"] = evaluation.test_images;
  record["test_accuracy"] = result.test_accuracy;
  record["test_accuracy_proportion"] = result.test_accuracy_proportion;
  record["neurons_per_class"] = result.neurons_per_class;
  record["label_silent_neurons"] = evaluation.label_silent_neurons;
  return record;
}

}  // namespace

SimulationResult run_diehl_cook(const SimulationConfig& config, const Dataset& train,
                                const Dataset& test, const SimulationOptions& options) {
  check_simulation_data(train, test);
  const ScopedFlushDenormals flush_denormals;  // common/flush_denormals.hpp
  SimulationResult result;
  DiehlCookNetwork net(config, train.sample_size());
  if (!config.initial_state.empty()) net.load_state(config.initial_state);
  std::optional<RunDirectory> run = open_simulation_run(config, options);
  if (run) result.run_directory = run->path();
  train_with_records(net, config, train, options, run, result);
  if (run && config.save_state) net.save_state(run->file("network.ckpt"));
  const DiehlCookEvaluation evaluation =
      evaluate_with_responses(net, config, train, test, run, result);
  if (run) run->append_metrics(result_record(result, evaluation));
  return result;
}

}  // namespace homeostat
