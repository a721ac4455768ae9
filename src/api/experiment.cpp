#include "homeostat/experiment.hpp"

#include <algorithm>
#include <cmath>
#include <optional>

#include "api/config_document.hpp"
#include "common/error.hpp"
#include "config/experiment_reader.hpp"
#include "homeostasis/homeostasis.hpp"
#include "metrics/activity.hpp"
#include "network/builder.hpp"
#include "run/train_run.hpp"
#include "tensor/blas.hpp"
#include "train/optimizer.hpp"
#include "train/schedule.hpp"
#include "train/trainer.hpp"

namespace homeostat {
namespace {

std::vector<LayerRates> layer_rates(const std::vector<LayerActivity>& activity) {
  std::vector<LayerRates> rates;
  rates.reserve(activity.size());
  for (const LayerActivity& a : activity) {
    rates.push_back({a.name, a.rate, a.dead_fraction, a.saturated_fraction, a.threshold_scale});
  }
  return rates;
}

}  // namespace

// The engine objects behind an Experiment, in the order they depend on each other.
struct Experiment::State {
  explicit State(ExperimentConfig parsed)
      : config(std::move(parsed)),
        network(build_network<float>(config.layers, network_input_shape(config),
                                     config.data.time_steps, config.seed)),
        optimizer(config.train.optimizer, network.parameters()),
        monitor(network),
        homeostasis(config.homeostasis, network),
        step(config, network, optimizer, monitor, homeostasis) {
    network.set_gemm_precision(config.gemm_precision);
  }

  const Dataset& train_set() {
    if (!train) train = load_data_split(config, "train", config.data.train_limit);
    if (train->size() == 0) throw DataError("the training set is empty");
    return *train;
  }

  ExperimentConfig config;
  Network<float> network;
  Optimizer<float> optimizer;
  ActivityMonitor<float> monitor;
  Homeostasis<float> homeostasis;
  TrainingStep step;
  std::optional<Dataset> train;
  std::size_t epoch = 0;       // where train_batches() goes on
  std::size_t next_batch = 0;  // within that epoch
};

Experiment::Experiment(const Config& config)
    : state_(std::make_unique<State>(parse_experiment(config.document_->materialize()))) {}
Experiment::~Experiment() = default;
Experiment::Experiment(Experiment&&) noexcept = default;
Experiment& Experiment::operator=(Experiment&&) noexcept = default;

const std::string& Experiment::name() const { return state_->config.name; }

std::vector<LayerInfo> Experiment::layers() const {
  std::vector<LayerInfo> layers;
  Network<float>& network = state_->network;
  for (std::size_t i = 0; i < network.layer_count(); ++i) {
    Layer<float>& layer = network.layer(i);
    LayerInfo info{layer.name(),
                   std::string(layer.kind()),
                   layer.output_shape(),
                   layer.neurons() != nullptr,
                   {}};
    for (const Parameter<float>* p : layer.parameters()) info.parameters.push_back(p->name);
    layers.push_back(std::move(info));
  }
  return layers;
}

TrainingProgress Experiment::train_batches(std::size_t batches) {
  State& s = *state_;
  const Dataset& data = s.train_set();
  const std::size_t batch_size = s.config.train.batch_size;
  const std::size_t per_epoch = (data.size() + batch_size - 1) / batch_size;
  const std::uint64_t total_steps = per_epoch * s.config.train.epochs;
  TrainingProgress progress;
  double loss_sum = 0.0;
  double penalty_sum = 0.0;
  std::size_t correct = 0;
  std::size_t seen = 0;
  s.monitor.reset();
  std::vector<std::int32_t> labels;
  std::vector<std::size_t> order = epoch_order(data.size(), s.config.seed, s.epoch);
  for (; progress.batches < batches; ++progress.batches) {
    const std::size_t begin = s.next_batch * batch_size;
    const std::size_t end = std::min(data.size(), begin + batch_size);
    const std::span<const std::size_t> indices(order.data() + begin, end - begin);
    labels.resize(indices.size());
    for (std::size_t i = 0; i < indices.size(); ++i) labels[i] = data.labels[indices[i]];
    const double lr =
        scheduled_learning_rate(s.config.train.schedule, s.config.train.optimizer.learning_rate,
                                s.optimizer.steps_taken(), per_epoch, total_steps);
    const TrainingClock clock{s.epoch, s.next_batch, per_epoch};
    const TrainingStep::Outcome outcome = s.step.run(data, indices, labels, clock, lr);
    if (!std::isfinite(outcome.loss.loss) || !std::isfinite(outcome.gradient_norm)) {
      throw DivergenceError("training diverged at epoch " + std::to_string(s.epoch + 1) +
                            ", batch " + std::to_string(s.next_batch + 1) +
                            ": the loss or the gradient is not finite");
    }
    loss_sum += outcome.loss.loss * static_cast<double>(indices.size());
    penalty_sum += outcome.penalty * static_cast<double>(indices.size());
    for (std::size_t i = 0; i < indices.size(); ++i) {
      correct += outcome.loss.predictions[i] == labels[i];
    }
    seen += indices.size();
    if (++s.next_batch == per_epoch) {
      s.next_batch = 0;
      order = epoch_order(data.size(), s.config.seed, ++s.epoch);
    }
  }
  progress.epoch = s.epoch;
  if (seen > 0) {
    progress.loss = loss_sum / static_cast<double>(seen);
    progress.penalty = penalty_sum / static_cast<double>(seen);
    progress.accuracy = static_cast<double>(correct) / static_cast<double>(seen);
  }
  std::vector<LayerActivity> activity = s.monitor.summary();
  annotate_threshold_scales(activity, s.network);
  progress.rates = layer_rates(activity);
  return progress;
}

Evaluation Experiment::evaluate(std::size_t limit) {
  State& s = *state_;
  const Dataset test = load_data_split(s.config, "test", limit ? limit : s.config.data.test_limit);
  const EvaluationResult result = homeostat::evaluate(s.network, s.config, test);
  return {result.samples,
          result.accuracy,
          result.loss,
          result.synops_per_sample,
          result.synaptic_efficiency,
          layer_rates(result.activity)};
}

RunSummary Experiment::run(bool show_progress) const {
  TrainOptions options;
  options.progress = show_progress;
  options.quiet = !show_progress;
  const TrainResult result = train(state_->config, options);
  RunSummary summary{result.run_directory, result.test_accuracy, {}};
  for (const nlohmann::json& record : result.epochs) summary.epoch_records.push_back(record.dump());
  return summary;
}

std::vector<float> Experiment::parameter(const std::string& name) const {
  for (const Parameter<float>* p : state_->network.parameters()) {
    if (p->name == name) return {p->value.span().begin(), p->value.span().end()};
  }
  throw ConfigError("the network has no parameter '" + name + "'");
}

void Experiment::set_parameter(const std::string& name, std::span<const float> values) {
  for (Parameter<float>* p : state_->network.parameters()) {
    if (p->name != name) continue;
    if (values.size() != p->value.size()) {
      throw ConfigError("parameter '" + name + "' has " + std::to_string(p->value.size()) +
                        " values; got " + std::to_string(values.size()));
    }
    std::copy(values.begin(), values.end(), p->value.span().begin());
    return;
  }
  throw ConfigError("the network has no parameter '" + name + "'");
}

void Experiment::set_threads(int threads) {
  if (threads < 0 || threads > 1024) {
    throw ConfigError("threads must be between 0 (all cores) and 1024; got " +
                      std::to_string(threads));
  }
  if (threads > 0) set_thread_count(threads);
}

}  // namespace homeostat
