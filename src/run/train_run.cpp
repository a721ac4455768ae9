#include "run/train_run.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>
#include <optional>
#include <string>

#include "common/atomic_file.hpp"
#include "common/checkpoint.hpp"
#include "common/error.hpp"
#include "config/experiment_reader.hpp"
#include "homeostat/version.hpp"
#include "metrics/activity.hpp"
#include "metrics/alarm.hpp"
#include "metrics/progress.hpp"
#include "network/builder.hpp"
#include "report/raster.hpp"
#include "report/report.hpp"
#include "run/run_directory.hpp"
#include "train/loss.hpp"
#include "train/optimizer.hpp"
#include "train/schedule.hpp"
#include "train/trainer.hpp"

namespace homeostat {
namespace {

using Clock = std::chrono::steady_clock;
using Bands = std::map<std::string, std::pair<double, double>>;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

nlohmann::json rates_json(const std::vector<LayerActivity>& activity,
                          double LayerActivity::*field) {
  nlohmann::json object = nlohmann::json::object();
  for (const LayerActivity& a : activity) object[a.name] = a.*field;
  return object;
}

nlohmann::json bands_json(const Bands& bands) {
  nlohmann::json object = nlohmann::json::object();
  for (const auto& [name, band] : bands) object[name] = {band.first, band.second};
  return object;
}

AlarmLimits alarm_limits(const ExperimentConfig& config, const Bands& bands) {
  AlarmLimits limits;
  limits.silence_factor = config.diagnostics.silence_factor;
  limits.saturation_fraction = config.diagnostics.saturation_alarm;
  limits.saturation_rate = config.diagnostics.saturation_rate;
  limits.default_band = {config.diagnostics.band_low, config.diagnostics.band_high};
  limits.bands = bands;
  return limits;
}

std::string rates_text(const std::vector<LayerActivity>& activity) {
  std::string text;
  char item[96];
  for (const LayerActivity& a : activity) {
    std::snprintf(item, sizeof item, "%s%s=%.3f", text.empty() ? "" : " ", a.name.c_str(), a.rate);
    text += item;
  }
  return text;
}

// Divergence (README, exit code 4): besides a non-finite loss or gradient, a batch loss beyond
// kDivergentLossFactor times the loss's natural scale, or a parameter tensor that is not finite
// or whose root-mean-square value exceeds kDivergentParameterRms after a step. Trained weights,
// biases and gains are O(1) and losses near their natural scale; legitimate training is many
// orders of magnitude below both bounds.
constexpr double kDivergentLossFactor = 1e6;
constexpr double kDivergentParameterRms = 1e6;

// The size of a loss of an untrained network: ln(classes) for the cross-entropies (a uniform
// guess), T^2 for mse_count (squared count errors), classes * T for the counting losses.
double natural_loss_scale(const ExperimentConfig& config) {
  const auto classes = static_cast<double>(config.data.num_classes);
  const auto steps = static_cast<double>(config.data.time_steps);
  switch (config.train.loss.kind) {
    case LossKind::mse_count:
      return std::max(1.0, steps * steps);
    case LossKind::count:
    case LossKind::count_plus:
      return std::max(1.0, classes * std::max(steps, config.train.loss.desired_count));
    default:
      return std::max(1.0, std::log(classes));
  }
}

std::string format_number(double value) {
  char text[32];
  std::snprintf(text, sizeof text, "%.3g", value);
  return text;
}

// The first parameter that is not finite or has grown beyond kDivergentParameterRms, described;
// empty when every parameter is sound.
std::string divergent_parameter(const std::vector<Parameter<float>*>& parameters) {
  for (const Parameter<float>* p : parameters) {
    double sum = 0.0;
    const float* w = p->value.data();
    const std::size_t n = p->value.size();
    for (std::size_t i = 0; i < n; ++i) sum += static_cast<double>(w[i]) * w[i];
    const double rms = n ? std::sqrt(sum / static_cast<double>(n)) : 0.0;
    if (!std::isfinite(rms)) return "parameter '" + p->name + "' is not finite";
    if (rms > kDivergentParameterRms) {
      return "parameter '" + p->name + "' has grown to a root-mean-square value of " +
             format_number(rms) + " (bound " + format_number(kDivergentParameterRms) + ")";
    }
  }
  return {};
}

// Where training stands; saved in checkpoints so a resumed run continues exactly.
struct TrainingPosition {
  std::size_t epoch = 0;       // 0-based epoch in progress
  std::size_t next_batch = 0;  // first batch of that epoch not yet trained
  double loss_sum = 0.0;
  std::size_t correct = 0;
  std::size_t seen = 0;
  double epoch_seconds = 0.0;  // training time already spent in this epoch
  double penalty_sum = 0.0;    // regulators' loss-channel terms, summed like loss_sum
};

std::vector<CheckpointTensor<float>> checkpoint_tensors(Network<float>& network,
                                                        Optimizer<float>& optimizer) {
  std::vector<CheckpointTensor<float>> tensors;
  const std::vector<Parameter<float>*> parameters = network.parameters();
  for (std::size_t i = 0; i < parameters.size(); ++i) {
    Parameter<float>& p = *parameters[i];
    tensors.push_back({p.name, p.value.span()});
    tensors.push_back({p.name + ".moment1", optimizer.first_moments()[i]});
    tensors.push_back({p.name + ".moment2", optimizer.second_moments()[i]});
  }
  for (const StateBuffer<float>& buffer : network.state_buffers()) {
    tensors.push_back({buffer.name, *buffer.values});
  }
  return tensors;
}

nlohmann::json position_json(const TrainingPosition& position, std::uint64_t steps,
                             ActivityMonitor<float>& monitor) {
  return {{"epoch", position.epoch},
          {"next_batch", position.next_batch},
          {"loss_sum", position.loss_sum},
          {"correct", position.correct},
          {"seen", position.seen},
          {"epoch_seconds", position.epoch_seconds},
          {"penalty_sum", position.penalty_sum},
          {"optimizer_steps", steps},
          {"activity_sums", monitor.neuron_spike_sums()},
          {"activity_windows", monitor.step_sample_counts()}};
}

// Keeps the metrics lines of epochs before `epochs_done` and the batch lines of the epoch in
// progress up to `next_batch` (a resumed run rewrites the rest).
void truncate_metrics(const std::filesystem::path& path, std::size_t epochs_done,
                      std::size_t next_batch) {
  std::ifstream in(path);
  std::vector<std::string> kept;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    const auto record = nlohmann::json::parse(line, nullptr, false);
    if (record.is_discarded()) continue;
    const std::size_t epoch = record.value("epoch", std::size_t{0});
    const bool batch_line = record.value("kind", "") == "batch";
    if (batch_line ? epoch <= epochs_done || (epoch == epochs_done + 1 &&
                                              record.value("batch", std::size_t{0}) <= next_batch)
                   : epoch <= epochs_done) {
      kept.push_back(line);
    }
  }
  in.close();
  std::string text;
  for (const std::string& k : kept) text += k + '\n';
  write_file_atomically(path, text);  // a run killed here keeps the old lines
}

// Per-neuron rates of the epoch, rounded to 1e-5 (enough for histograms, small files).
nlohmann::json neuron_rates_json(ActivityMonitor<float>& monitor,
                                 const std::vector<LayerActivity>& activity) {
  nlohmann::json object = nlohmann::json::object();
  for (std::size_t k = 0; k < activity.size(); ++k) {
    const std::vector<double>& sums = monitor.neuron_spike_sums()[k];
    const double windows = monitor.step_sample_counts()[k];
    nlohmann::json rates = nlohmann::json::array();
    for (const double s : sums)
      rates.push_back(windows > 0 ? std::round(1e5 * s / windows) / 1e5 : 0.0);
    object[activity[k].name] = rates;
  }
  return object;
}

nlohmann::json alarms_json(const std::vector<Alarm>& alarms) {
  nlohmann::json list = nlohmann::json::array();
  for (const Alarm& a : alarms) {
    list.push_back({{"layer", a.layer},
                    {"kind", alarm_kind_name(a.kind)},
                    {"value", a.value},
                    {"limit", a.limit},
                    {"message", a.message()}});
  }
  return list;
}

// Writes raster.json (the first test sample) and report.html into the run directory. A raster
// that cannot be computed only warns; a failed write is an Error like any other (exit 1).
void write_run_report(const std::filesystem::path& directory, Network<float>& network,
                      const ExperimentConfig& config, const Dataset& test) {
  std::optional<nlohmann::json> raster;
  try {
    if (test.size() > 0) {
      const std::vector<std::size_t> first{0};
      std::vector<float> scratch;
      Tensor<float> input;
      encode_batch(config, test, first,
                   CounterRng(config.seed, RngPurpose::encode, {kEvaluationStream, 0}),
                   network.input_shape(), scratch, input);
      const Tensor<float>& output = network.forward(input, RunContext{false, config.seed, 0, 0});
      raster = spike_raster(network, input, 0);
      (*raster)["sample"] = 0;
      (*raster)["label"] = test.labels[0];
      Tensor<float> grad;
      const std::int32_t label = test.labels[0];
      const LossResult scored =
          compute_loss(config.train.loss, output, std::span<const std::int32_t>(&label, 1), grad);
      (*raster)["prediction"] = scored.predictions.at(0);
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "warning: could not draw the spike raster: %s\n", e.what());
    raster.reset();
  }
  if (raster) write_file_atomically(directory / "raster.json", raster->dump());
  write_report(directory);
}

// The data of a run: the training set (less the validation split), validation and test sets.
struct RunData {
  Dataset train;
  Dataset validation;
  Dataset test;
};

RunData load_run_data(const ExperimentConfig& config) {
  const Dataset full_train = load_data_split(config, "train", config.data.train_limit);
  RunData data;
  data.test = load_data_split(config, "test", config.data.test_limit);
  std::tie(data.train, data.validation) =
      split_validation(full_train, config.data.validation_fraction, config.seed);
  return data;
}

// One training run: the state a run carries from batch to batch, and its records. The public
// train() below is the whole life of one: start or resume, epochs, report.
class TrainingRun {
 public:
  TrainingRun(const ExperimentConfig& config, const TrainOptions& options);
  TrainResult run();

 private:
  void start_fresh();
  void restore_checkpoint();
  void restore_activity(std::vector<std::vector<double>> sums, std::vector<double> windows,
                        const std::string& where);
  void resume();
  // Trains what is left of `epoch`; false when stopped early (options.stop_after_batches).
  bool train_epoch(std::size_t epoch);
  // One batch of the epoch in progress; false when stopped early.
  bool train_batch(std::size_t epoch, std::size_t batch, std::span<const std::size_t> order,
                   Clock::time_point epoch_start, double seconds_before);
  void record_batch(const TrainingClock& clock, const TrainingStep::Outcome& outcome,
                    std::size_t samples, std::size_t correct,
                    const std::vector<LayerActivity>& running);
  void guard_batch(std::size_t epoch, std::size_t batch, const std::vector<LayerActivity>& running);
  void finish_epoch(std::size_t epoch);
  nlohmann::json epoch_record(std::size_t epoch, const std::vector<LayerActivity>& train_activity,
                              const EvaluationResult& tested, double& progress_accuracy);
  void print_epoch(std::size_t epoch, const nlohmann::json& record, double test_accuracy,
                   const std::vector<LayerActivity>& train_activity) const;
  void save(const TrainingPosition& at);
  void append_metrics(const nlohmann::json& record);
  [[nodiscard]] std::string checkpoint_note() const;
  [[nodiscard]] DivergenceError divergence(const std::string& what, std::size_t epoch,
                                           std::size_t batch) const;
  [[nodiscard]] AlarmError alarm_error(const std::vector<Alarm>& alarms, std::size_t epoch,
                                       const std::string& when) const;

  const ExperimentConfig& config_;
  const TrainOptions& options_;
  Communicator& communicator_;
  const bool root_;  // rank 0: the one that prints and writes
  TrainResult result_;
  std::filesystem::path checkpoint_path_;
  std::optional<RunDirectory> directory_;  // opened by run(), once the data has loaded
  RunData data_;
  Network<float> network_;
  Optimizer<float> optimizer_;
  ActivityMonitor<float> monitor_;
  Homeostasis<float> homeostasis_;
  AlarmLimits limits_;
  TrainingPosition position_;
  std::size_t batches_ = 0;
  std::uint64_t total_steps_ = 0;
  ProgressLine progress_;
  TrainingStep step_;
  std::vector<std::int32_t> labels_;
  std::size_t batches_this_process_ = 0;
  double lr_ = 0.0;
};

std::filesystem::path checked_checkpoint_path(const ExperimentConfig& config,
                                              const TrainOptions& options) {
  std::filesystem::path path = config.output.directory / config.name / "checkpoint.bin";
  if (options.resume && !std::filesystem::exists(path)) {
    throw DataError("--resume: no checkpoint at '" + path.string() + "' (start without --resume)");
  }
  return path;
}

TrainingRun::TrainingRun(const ExperimentConfig& config, const TrainOptions& options)
    : config_(config),
      options_(options),
      communicator_(options.communicator ? *options.communicator : single_process()),
      root_(communicator_.is_root()),
      result_{config.output.directory / config.name, {}, 0.0, false},
      checkpoint_path_(checked_checkpoint_path(config, options)),
      // Data before anything is written, so a missing data set leaves no half-made directory.
      data_(load_run_data(config)),
      network_(build_network<float>(config.layers, network_input_shape(config),
                                    config.data.time_steps, config.seed)),
      optimizer_(config.train.optimizer, network_.parameters()),
      monitor_(network_),
      homeostasis_(config.homeostasis, network_),
      limits_(alarm_limits(config, homeostasis_.bands(network_))),
      progress_(options.progress && root_, config.output.progress_seconds),
      step_(config, network_, optimizer_, monitor_, homeostasis_, communicator_),
      lr_(config.train.optimizer.learning_rate) {
  network_.set_gemm_precision(config.gemm_precision);
}

TrainResult TrainingRun::run() {
  if (root_) directory_.emplace(config_.output.directory, config_.name);
  batches_ = (data_.train.size() + config_.train.batch_size - 1) / config_.train.batch_size;
  if (batches_ == 0) throw DataError("the training set is empty");
  // A checkpoint that does not fit is refused before the run directory changes.
  if (options_.resume) restore_checkpoint();
  if (root_) directory_->write_config(config_.resolved_toml);
  if (options_.resume) {
    resume();
  } else {
    start_fresh();
  }
  total_steps_ = batches_ * config_.train.epochs;
  for (std::size_t epoch = position_.epoch; epoch < config_.train.epochs; ++epoch) {
    if (!train_epoch(epoch)) return result_;
    finish_epoch(epoch);
  }
  if (config_.diagnostics.report && root_)
    write_run_report(result_.run_directory, network_, config_, data_.test);
  return result_;
}

void TrainingRun::start_fresh() {
  if (!root_) return;
  // The old checkpoint first: a run killed in between must not resume the old run's checkpoint
  // over metrics already emptied.
  std::filesystem::remove(checkpoint_path_);
  directory_->start_metrics();
}

// Everything a checkpoint restores, each part checked against the network this config builds
// before it is used: a checkpoint written for another network (a changed config) is a data error
// that names the checkpoint and the part that does not fit, never a crash.
void TrainingRun::restore_checkpoint() {
  const std::string where = "checkpoint '" + checkpoint_path_.string() + "'";
  const nlohmann::json header = read_checkpoint_header(checkpoint_path_);
  // Tensors (parameters, optimizer moments, state buffers): matched by name and size.
  read_checkpoint_tensors(checkpoint_path_, checkpoint_tensors(network_, optimizer_));
  try {
    const nlohmann::json& saved = header.at("position");
    position_.epoch = saved.at("epoch");
    position_.next_batch = saved.at("next_batch");
    position_.loss_sum = saved.at("loss_sum");
    position_.correct = saved.at("correct");
    position_.seen = saved.at("seen");
    position_.epoch_seconds = saved.at("epoch_seconds");
    position_.penalty_sum = saved.value("penalty_sum", 0.0);
    optimizer_.set_steps_taken(saved.at("optimizer_steps"));
    restore_activity(saved.at("activity_sums").get<std::vector<std::vector<double>>>(),
                     saved.at("activity_windows").get<std::vector<double>>(), where);
  } catch (const nlohmann::json::exception&) {
    throw DataError(where + " has no readable training position (is it a `train` checkpoint?)");
  }
  try {
    if (header.contains("homeostasis")) {
      homeostasis_.load_state(header.at("homeostasis"), network_);
    }
  } catch (const nlohmann::json::exception&) {
    throw DataError(where + ": the regulator state is unreadable");
  } catch (const DataError& e) {
    throw DataError(where + ": " + e.what() + " (was it written for another config?)");
  }
  if (root_ && header.value("config", "") != config_.resolved_toml) {
    std::fprintf(stderr,
                 "warning: the config differs from the one the checkpoint was written "
                 "with; continuing with the new one\n");
  }
}

// The activity monitor's per-neuron spike sums: one list per spiking layer, one sum per neuron.
void TrainingRun::restore_activity(std::vector<std::vector<double>> sums,
                                   std::vector<double> windows, const std::string& where) {
  std::vector<std::vector<double>>& expected = monitor_.neuron_spike_sums();
  const std::vector<std::size_t> spiking = network_.spiking_layers();
  if (sums.size() != expected.size() || windows.size() != expected.size()) {
    throw DataError(where + " holds activity sums of " + std::to_string(sums.size()) +
                    " spiking layers but the network has " + std::to_string(expected.size()) +
                    " (was it written for another config?)");
  }
  for (std::size_t k = 0; k < sums.size(); ++k) {
    if (sums[k].size() != expected[k].size()) {
      throw DataError(where + " holds activity sums of " + std::to_string(sums[k].size()) +
                      " neurons for spiking layer '" + network_.layer(spiking[k]).name() +
                      "', which has " + std::to_string(expected[k].size()) +
                      " (was it written for another config?)");
    }
  }
  expected = std::move(sums);
  monitor_.step_sample_counts() = std::move(windows);
}

void TrainingRun::resume() {
  if (position_.epoch < config_.train.epochs && position_.next_batch > batches_) {
    throw DataError("checkpoint '" + checkpoint_path_.string() + "' stopped at batch " +
                    std::to_string(position_.next_batch) + " of an epoch, but this config has " +
                    std::to_string(batches_) +
                    " batches per epoch (were data.train_limit or train.batch_size changed?)");
  }
  if (!root_) return;
  truncate_metrics(directory_->file(RunDirectory::kMetricsFile), position_.epoch,
                   position_.next_batch);
  directory_->continue_metrics();
  std::fprintf(stderr, "resuming %s at epoch %zu, batch %zu\n", result_.run_directory.c_str(),
               position_.epoch + 1, position_.next_batch);
}

bool TrainingRun::train_epoch(std::size_t epoch) {
  if (epoch != position_.epoch || position_.next_batch == 0) {
    position_ = TrainingPosition{epoch, 0, 0.0, 0, 0, 0.0, 0.0};
    monitor_.reset();
  }
  const std::vector<std::size_t> order = epoch_order(data_.train.size(), config_.seed, epoch);
  const Clock::time_point epoch_start = Clock::now();
  const double seconds_before = position_.epoch_seconds;
  for (std::size_t batch = position_.next_batch; batch < batches_; ++batch) {
    if (!train_batch(epoch, batch, order, epoch_start, seconds_before)) return false;
  }
  progress_.finish_line();
  return true;
}

bool TrainingRun::train_batch(std::size_t epoch, std::size_t batch,
                              std::span<const std::size_t> order, Clock::time_point epoch_start,
                              double seconds_before) {
  const Clock::time_point batch_start = Clock::now();
  const std::size_t batch_size = config_.train.batch_size;
  const std::size_t begin = batch * batch_size;
  const std::size_t end = std::min(data_.train.size(), begin + batch_size);
  const std::span<const std::size_t> indices = order.subspan(begin, end - begin);
  labels_.resize(indices.size());
  for (std::size_t i = 0; i < indices.size(); ++i) labels_[i] = data_.train.labels[indices[i]];
  lr_ = scheduled_learning_rate(config_.train.schedule, config_.train.optimizer.learning_rate,
                                optimizer_.steps_taken(), batches_, total_steps_);
  const TrainingClock clock{epoch, batch, batches_};
  const TrainingStep::Outcome outcome = step_.run(data_.train, indices, labels_, clock, lr_);
  const LossResult& loss = outcome.loss;
  if (!std::isfinite(loss.loss)) {
    throw divergence("the loss is " + std::to_string(loss.loss), epoch, batch);
  }
  if (!std::isfinite(outcome.gradient_norm)) {
    throw divergence("the gradient norm is " + std::to_string(outcome.gradient_norm), epoch, batch);
  }
  if (loss.loss > kDivergentLossFactor * natural_loss_scale(config_)) {
    throw divergence("the loss " + format_number(loss.loss) + " exceeds " +
                         format_number(kDivergentLossFactor) + " times its natural scale " +
                         format_number(natural_loss_scale(config_)),
                     epoch, batch);
  }
  if (const std::string weights = divergent_parameter(network_.parameters()); !weights.empty()) {
    throw divergence(weights + " after the optimizer step", epoch, batch);
  }

  position_.loss_sum += loss.loss * static_cast<double>(indices.size());
  position_.penalty_sum += outcome.penalty * static_cast<double>(indices.size());
  std::size_t batch_correct = 0;
  for (std::size_t i = 0; i < indices.size(); ++i) {
    batch_correct += loss.predictions[i] == labels_[i];
  }
  position_.correct += batch_correct;
  position_.seen += indices.size();
  position_.next_batch = batch + 1;
  position_.epoch_seconds = seconds_before + seconds_since(epoch_start);

  const double batch_ms = 1e3 * seconds_since(batch_start);
  const double per_batch = position_.epoch_seconds / static_cast<double>(batch + 1);
  const double remaining_batches =
      static_cast<double>((config_.train.epochs - epoch) * batches_ - (batch + 1));
  std::vector<LayerActivity> running = monitor_.summary();
  annotate_threshold_scales(running, network_);
  progress_.update(epoch + 1, config_.train.epochs, batch + 1, batches_,
                   position_.loss_sum / static_cast<double>(position_.seen),
                   static_cast<double>(position_.correct) / static_cast<double>(position_.seen),
                   running, batch_ms, per_batch * remaining_batches);
  const std::size_t every = config_.diagnostics.batch_metrics_every;
  if (every && (batch + 1) % every == 0) {
    record_batch(clock, outcome, indices.size(), batch_correct, running);
  }
  guard_batch(epoch, batch, running);

  ++batches_this_process_;
  if (options_.stop_after_batches && batches_this_process_ >= options_.stop_after_batches) {
    progress_.finish_line();
    result_.stopped_early = true;
    return false;
  }
  const std::size_t checkpoint_every = config_.output.checkpoint_every;
  if (checkpoint_every && (batch + 1) % checkpoint_every == 0 && batch + 1 < batches_) {
    save(position_);
  }
  return true;
}

void TrainingRun::record_batch(const TrainingClock& clock, const TrainingStep::Outcome& outcome,
                               std::size_t samples, std::size_t correct,
                               const std::vector<LayerActivity>& running) {
  const BatchActivity& last = monitor_.last_batch();
  nlohmann::json record;
  record["kind"] = "batch";
  record["epoch"] = clock.epoch + 1;
  record["batch"] = clock.batch + 1;
  record["progress"] = clock.progress() + 1.0 / static_cast<double>(clock.batches_per_epoch);
  record["loss"] = outcome.loss.loss;
  record["penalty"] = outcome.penalty;
  record["accuracy"] = static_cast<double>(correct) / static_cast<double>(samples);
  nlohmann::json rates = nlohmann::json::object();
  nlohmann::json scales = nlohmann::json::object();
  for (std::size_t k = 0; k < last.layers.size(); ++k) {
    rates[running[k].name] = last.rates[k];
    scales[running[k].name] = running[k].threshold_scale;
  }
  record["rate"] = rates;
  record["threshold_scale"] = scales;
  append_metrics(record);
}

// The guard stops a saturated run early, once a quarter of the epoch gives a fair window.
void TrainingRun::guard_batch(std::size_t epoch, std::size_t batch,
                              const std::vector<LayerActivity>& running) {
  if (!config_.diagnostics.guard || 4 * (batch + 1) < batches_) return;
  std::vector<Alarm> alarms = check_alarms(running, limits_);
  std::erase_if(alarms, [](const Alarm& a) { return a.kind != AlarmKind::saturation; });
  if (alarms.empty()) return;
  progress_.finish_line();
  throw alarm_error(alarms, epoch, ", batch " + std::to_string(batch + 1));
}

void TrainingRun::finish_epoch(std::size_t epoch) {
  std::vector<LayerActivity> train_activity = monitor_.summary();
  annotate_threshold_scales(train_activity, network_);
  const EvaluationResult tested = evaluate(network_, config_, data_.test);
  double progress_accuracy = 0.0;
  const nlohmann::json record = epoch_record(epoch, train_activity, tested, progress_accuracy);
  append_metrics(record);
  const std::vector<Alarm> alarms = check_alarms(train_activity, limits_);
  for (const Alarm& a : alarms) {
    if (root_) std::fprintf(stderr, "warning: %s\n", a.message().c_str());
  }
  if (config_.diagnostics.guard && !alarms.empty()) {
    if (config_.diagnostics.report && root_) {
      write_run_report(result_.run_directory, network_, config_, data_.test);
    }
    throw alarm_error(alarms, epoch, "");
  }
  std::vector<double> epoch_rates;
  epoch_rates.reserve(train_activity.size());
  for (const LayerActivity& a : train_activity) epoch_rates.push_back(a.rate);
  homeostasis_.end_epoch(network_, EpochSignals{epoch, progress_accuracy, epoch_rates});
  result_.epochs.push_back(record);
  result_.test_accuracy = tested.accuracy;
  print_epoch(epoch, record, tested.accuracy, train_activity);
  const TrainingPosition next{epoch + 1, 0, 0.0, 0, 0, 0.0, 0.0};
  monitor_.reset();
  save(next);
  position_ = next;
}

// The epoch's line of metrics.jsonl; `progress_accuracy` gets the accuracy the slow timescale
// of the regulators sees (validation when there is a validation split, else training).
nlohmann::json TrainingRun::epoch_record(std::size_t epoch,
                                         const std::vector<LayerActivity>& train_activity,
                                         const EvaluationResult& tested,
                                         double& progress_accuracy) {
  const auto seen = static_cast<double>(position_.seen);
  progress_accuracy = static_cast<double>(position_.correct) / seen;
  nlohmann::json record;
  record["kind"] = "epoch";
  record["epoch"] = epoch + 1;
  record["train_loss"] = position_.loss_sum / seen;
  record["train_accuracy"] = static_cast<double>(position_.correct) / seen;
  record["test_loss"] = tested.loss;
  record["test_accuracy"] = tested.accuracy;
  if (data_.validation.size() > 0) {
    const EvaluationResult validated = evaluate(network_, config_, data_.validation);
    record["validation_accuracy"] = validated.accuracy;
    record["validation_loss"] = validated.loss;
    progress_accuracy = validated.accuracy;
  }
  record["train_penalty"] = position_.penalty_sum / seen;
  record["seconds"] = position_.epoch_seconds;
  record["lr"] = lr_;
  record["rate"] = rates_json(train_activity, &LayerActivity::rate);
  record["dead"] = rates_json(train_activity, &LayerActivity::dead_fraction);
  record["saturated"] = rates_json(train_activity, &LayerActivity::saturated_fraction);
  record["test_rate"] = rates_json(tested.activity, &LayerActivity::rate);
  record["threshold_scale"] = rates_json(train_activity, &LayerActivity::threshold_scale);
  record["synops"] = tested.synops_per_sample;
  record["information_bits"] = tested.information_bits;
  record["synaptic_efficiency"] = tested.synaptic_efficiency;
  double hidden_rate = 0.0;
  for (const LayerActivity& a : tested.activity) hidden_rate += a.rate;
  hidden_rate /= static_cast<double>(std::max<std::size_t>(1, tested.activity.size()));
  record["accuracy_per_rate"] = hidden_rate > 0 ? tested.accuracy / hidden_rate : 0.0;
  Bands bands = limits_.bands;
  for (const LayerActivity& a : train_activity) bands.emplace(a.name, limits_.default_band);
  record["bands"] = bands_json(bands);
  record["neuron_rates"] = neuron_rates_json(monitor_, train_activity);
  if (!homeostasis_.empty()) record["homeostasis"] = homeostasis_.describe(network_);
  record["alarms"] = alarms_json(check_alarms(train_activity, limits_));
  return record;
}

void TrainingRun::print_epoch(std::size_t epoch, const nlohmann::json& record, double test_accuracy,
                              const std::vector<LayerActivity>& train_activity) const {
  if (options_.quiet || !root_) return;
  std::printf(
      "epoch %zu/%zu  train loss %.4f  train acc %.2f%%  test acc %.2f%%  rate %s  "
      "(%.1f s)\n",
      epoch + 1, config_.train.epochs, record["train_loss"].get<double>(),
      100.0 * record["train_accuracy"].get<double>(), 100.0 * test_accuracy,
      rates_text(train_activity).c_str(), record["seconds"].get<double>());
  std::fflush(stdout);
}

void TrainingRun::save(const TrainingPosition& at) {
  if (!root_) return;
  nlohmann::json header;
  header["config"] = config_.resolved_toml;
  header["position"] = position_json(at, optimizer_.steps_taken(), monitor_);
  header["homeostasis"] = homeostasis_.save_state();
  header["homeostat_version"] = HOMEOSTAT_VERSION;
  write_checkpoint(checkpoint_path_, header, checkpoint_tensors(network_, optimizer_));
}

void TrainingRun::append_metrics(const nlohmann::json& record) {
  if (root_) directory_->append_metrics(record);
}

std::string TrainingRun::checkpoint_note() const {
  return std::filesystem::exists(checkpoint_path_)
             ? "; the last good checkpoint is kept at " + checkpoint_path_.string()
             : "; no checkpoint had been written yet";
}

DivergenceError TrainingRun::divergence(const std::string& what, std::size_t epoch,
                                        std::size_t batch) const {
  std::string message = "training diverged at epoch " + std::to_string(epoch + 1) + ", batch " +
                        std::to_string(batch + 1) + ": " + what;
  message += "; layer rates this epoch: " + rates_text(monitor_.summary());
  message += checkpoint_note();
  if (std::filesystem::exists(checkpoint_path_)) {
    message += " (lower train.lr, or set train.clip_grad_norm)";
  }
  return DivergenceError(message);
}

AlarmError TrainingRun::alarm_error(const std::vector<Alarm>& alarms, std::size_t epoch,
                                    const std::string& when) const {
  std::string message =
      "epoch " + std::to_string(epoch + 1) + when + ": " + alarms.front().message();
  for (std::size_t i = 1; i < alarms.size(); ++i) message += "; " + alarms[i].message();
  message += checkpoint_note();
  message += " (diagnostics.guard = true)";
  return AlarmError(message);
}

}  // namespace

TrainResult train(const ExperimentConfig& config, const TrainOptions& options) {
  TrainingRun run(config, options);
  return run.run();
}

LoadedModel load_model(const std::filesystem::path& checkpoint) {
  nlohmann::json header = read_checkpoint_header(checkpoint);
  if (!header.contains("config") || !header["config"].is_string()) {
    throw DataError("'" + checkpoint.string() +
                    "' holds no training config: it is not a checkpoint written by `train` (a "
                    "`simulate` network state cannot be evaluated by `eval`)");
  }
  ConfigDocument document =
      parse_config_string(header.at("config").get<std::string>(), checkpoint.string() + ":config");
  ExperimentConfig config = parse_experiment(document);
  Network<float> network = build_network<float>(config.layers, network_input_shape(config),
                                                config.data.time_steps, config.seed);
  network.set_gemm_precision(config.gemm_precision);
  Optimizer<float> optimizer(config.train.optimizer, network.parameters());
  read_checkpoint_tensors(checkpoint, checkpoint_tensors(network, optimizer));
  Homeostasis<float> homeostasis(config.homeostasis, network);
  try {
    if (header.contains("homeostasis")) homeostasis.load_state(header.at("homeostasis"), network);
  } catch (const nlohmann::json::exception&) {
    throw DataError("checkpoint '" + checkpoint.string() + "': the regulator state is unreadable");
  } catch (const DataError& e) {
    throw DataError("checkpoint '" + checkpoint.string() + "': " + e.what());
  }
  return {std::move(config), std::move(network), std::move(homeostasis), std::move(header)};
}

}  // namespace homeostat
