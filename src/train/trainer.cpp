#include "train/trainer.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>
#include <sstream>

#include "common/error.hpp"
#include "data/dataset.hpp"
#include "data/encoder.hpp"
#include "data/event_files.hpp"
#include "data/events.hpp"
#include "common/checkpoint.hpp"
#include "metrics/progress.hpp"
#include "report/raster.hpp"
#include "report/report.hpp"
#include "metrics/alarm.hpp"
#include "metrics/information.hpp"
#include "metrics/synops.hpp"
#include "network/builder.hpp"
#include "tensor/blas.hpp"
#include "train/loss.hpp"
#include "train/optimizer.hpp"
#include "train/schedule.hpp"

namespace homeostat {
namespace {

using Clock = std::chrono::steady_clock;

// Evaluation draws its encoder noise from its own stream, the same every epoch.
constexpr std::uint64_t kEvaluationStream = 1ull << 40;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

nlohmann::json rates_json(const std::vector<LayerActivity>& activity,
                          double LayerActivity::*field) {
  nlohmann::json object = nlohmann::json::object();
  for (const LayerActivity& a : activity) object[a.name] = a.*field;
  return object;
}

nlohmann::json bands_json(const std::map<std::string, std::pair<double, double>>& bands) {
  nlohmann::json object = nlohmann::json::object();
  for (const auto& [name, band] : bands) object[name] = {band.first, band.second};
  return object;
}

AlarmLimits alarm_limits(const ExperimentConfig& config,
                         const std::map<std::string, std::pair<double, double>>& bands) {
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
  std::ofstream out(path, std::ios::trunc);
  for (const std::string& k : kept) out << k << '\n';
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

}  // namespace

void encode_batch(const ExperimentConfig& config, const Dataset& data,
                  std::span<const std::size_t> indices, const CounterRng& rng,
                  const Shape& feature_shape, std::vector<float>& scratch, Tensor<float>& input,
                  const CounterRng* augment_rng) {
  if (data.has_events()) {
    EventBinning binning = config.data.event_binning;
    binning.time_steps = config.data.time_steps;
    const bool augment = augment_rng && config.data.augment.any();
    bin_events(data.events, indices, binning, augment ? &config.data.augment : nullptr,
               augment ? *augment_rng : rng, scratch);
    const std::size_t frame_size =
        shape_size(event_frame_shape(data.events.width, data.events.height, binning.downsample));
    encode<float>(config.encoder, scratch, indices.size(), config.data.time_steps, frame_size,
                  config.data.time_steps, rng, input);
  } else {
    gather_batch(data, indices, scratch);
    const ViewShape view = view_shape(config.data.view, data.sample_shape);
    encode<float>(config.encoder, scratch, indices.size(), view.frames,
                  shape_size(view.feature_shape), config.data.time_steps, rng, input);
  }
  Shape shape{config.data.time_steps, indices.size()};
  shape.insert(shape.end(), feature_shape.begin(), feature_shape.end());
  input.reshape(shape);
}

Dataset load_data_split(const ExperimentConfig& config, std::string_view split, std::size_t limit) {
  if (config.data.source == DataSource::anomaly) {
    Dataset data = make_anomaly_split(config.data.anomaly, split, config.seed);
    if (limit > 0 && limit < data.size()) {
      std::vector<std::size_t> first(limit);
      for (std::size_t i = 0; i < limit; ++i) first[i] = i;
      data = subset(data, first);
    }
    return data;
  }
  if (config.data.source == DataSource::events) {
    Dataset data = load_event_split(config.data.directory, split, config.data.event_files, limit);
    if (data.num_classes > config.data.num_classes) {
      throw DataError("the " + std::string(split) + " labels in '" +
                      config.data.directory.string() + "' go up to " +
                      std::to_string(data.num_classes - 1) + " but data.classes is " +
                      std::to_string(config.data.num_classes));
    }
    return data;
  }
  Dataset data = load_idx_split(config.data.directory, split, limit);
  if (data.sample_shape != std::vector<std::size_t>{28, 28}) {
    throw DataError("data in '" + config.data.directory.string() + "' has samples of shape " +
                    shape_string(data.sample_shape) + "; this version reads 28x28 images");
  }
  if (data.num_classes > config.data.num_classes) {
    throw DataError("the " + std::string(split) + " labels in '" + config.data.directory.string() +
                    "' go up to " + std::to_string(data.num_classes - 1) + " but data.classes is " +
                    std::to_string(config.data.num_classes));
  }
  return data;
}

namespace {

// Writes raster.json (the first test sample) and report.html into the run directory. A report
// is a convenience: failing to write one warns and does not fail the run.
void write_run_report(const std::filesystem::path& directory, Network<float>& network,
                      const ExperimentConfig& config, const Dataset& test) {
  try {
    if (test.size() > 0) {
      const std::vector<std::size_t> first{0};
      std::vector<float> scratch;
      Tensor<float> input;
      encode_batch(config, test, first,
                   CounterRng(config.seed, RngPurpose::encode, {kEvaluationStream, 0}),
                   network.input_shape(), scratch, input);
      const Tensor<float>& output = network.forward(input, RunContext{false, config.seed, 0, 0});
      nlohmann::json raster = spike_raster(network, input, 0);
      raster["sample"] = 0;
      raster["label"] = test.labels[0];
      Tensor<float> grad;
      const std::int32_t label = test.labels[0];
      const LossResult scored =
          compute_loss(config.train.loss, output, std::span<const std::int32_t>(&label, 1), grad);
      const std::int32_t best = scored.predictions.at(0);
      raster["prediction"] = best;
      std::ofstream(directory / "raster.json", std::ios::trunc) << raster.dump();
    }
    write_report(directory);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "warning: could not write the report: %s\n", e.what());
  }
}

}  // namespace

TrainingStep::TrainingStep(const ExperimentConfig& config, Network<float>& network,
                           Optimizer<float>& optimizer, ActivityMonitor<float>& monitor,
                           Homeostasis<float>& homeostasis)
    : config_(config),
      network_(network),
      optimizer_(optimizer),
      monitor_(monitor),
      homeostasis_(homeostasis),
      features_(network.input_shape()) {
  if (config.train.method == TrainMethod::rate)
    rate_ = std::make_unique<RatePass<float>>(network, config.train.loss);
}

TrainingStep::Outcome TrainingStep::run(const Dataset& data, std::span<const std::size_t> indices,
                                        std::span<const std::int32_t> labels,
                                        const TrainingClock& clock, double learning_rate) {
  if (rate_) return run_rate(data, indices, labels, clock, learning_rate);
  const std::uint64_t epoch = clock.epoch;
  const std::uint64_t batch = clock.batch;
  const CounterRng augment_rng(config_.seed, RngPurpose::augment, {epoch, batch});
  encode_batch(config_, data, indices, CounterRng(config_.seed, RngPurpose::encode, {epoch, batch}),
               features_, scratch_, input_, &augment_rng);
  network_.zero_grad();
  // train.two_pass: one forward pass over the batch stacked twice (train/two_pass.hpp).
  if (config_.train.two_pass) stack_twice(input_, stacked_);
  const Tensor<float>& output = network_.forward(config_.train.two_pass ? stacked_ : input_,
                                                 RunContext{true, config_.seed, epoch, batch});
  monitor_.observe(network_);
  const BatchActivity& activity = monitor_.last_batch();
  Outcome outcome;
  outcome.loss = config_.train.two_pass
                     ? two_pass_
                           .compute(config_.train.loss, config_.train.two_pass_weight, output,
                                    labels, grad_output_)
                           .total
                     : compute_loss(config_.train.loss, output, labels, grad_output_);
  if (!std::isfinite(outcome.loss.loss)) return outcome;
  // Backward uses the thresholds of this forward pass: a new scale takes effect at the next
  // begin_forward, so updating it here is safe.
  homeostasis_.after_forward(network_, activity, clock);
  outcome.penalty = homeostasis_.penalty(activity, clock);
  network_.backward(grad_output_, homeostasis_.gradient_hook());
  outcome.gradient_norm = optimizer_.step(learning_rate);
  if (std::isfinite(outcome.gradient_norm)) homeostasis_.after_update(network_, activity, clock);
  return outcome;
}

EvaluationResult evaluate(Network<float>& network, const ExperimentConfig& config,
                          const Dataset& data) {
  EvaluationResult result;
  const std::size_t classes = config.data.num_classes;
  result.confusion.assign(classes * classes, 0);
  ActivityMonitor<float> monitor(network);
  SynopsCounter<float> synops(network);
  const Shape features = network.input_shape();
  const std::size_t batch_size = config.train.eval_batch_size;
  std::vector<std::size_t> indices;
  std::vector<float> scratch;
  Tensor<float> input;
  Tensor<float> grad;
  double loss_sum = 0.0;
  std::size_t correct = 0;
  for (std::size_t start = 0, batch = 0; start < data.size(); start += batch_size, ++batch) {
    const std::size_t end = std::min(data.size(), start + batch_size);
    indices.resize(end - start);
    for (std::size_t i = start; i < end; ++i) indices[i - start] = i;
    encode_batch(config, data, indices,
                 CounterRng(config.seed, RngPurpose::encode, {kEvaluationStream, batch}), features,
                 scratch, input);
    const Tensor<float>& output = network.forward(input, RunContext{false, config.seed, 0, batch});
    const std::span<const std::int32_t> labels(data.labels.data() + start, end - start);
    const LossResult loss = compute_loss(config.train.loss, output, labels, grad);
    loss_sum += loss.loss * static_cast<double>(end - start);
    for (std::size_t i = 0; i < labels.size(); ++i) {
      const auto truth = static_cast<std::size_t>(labels[i]);
      const auto predicted = static_cast<std::size_t>(loss.predictions[i]);
      correct += truth == predicted;
      result.confusion[truth * classes + predicted] += 1;
    }
    monitor.observe(network);
    synops.observe(network, input);
  }
  result.samples = data.size();
  result.synops_per_sample = synops.per_sample();
  result.information_bits = mutual_information_bits(result.confusion, classes);
  result.synaptic_efficiency =
      synaptic_efficiency(result.information_bits, result.synops_per_sample);
  result.accuracy =
      data.size() ? static_cast<double>(correct) / static_cast<double>(data.size()) : 0;
  result.loss = data.size() ? loss_sum / static_cast<double>(data.size()) : 0;
  result.activity = monitor.summary();
  annotate_threshold_scales(result.activity, network);
  return result;
}

TrainResult train(const ExperimentConfig& config, const TrainOptions& options) {
  TrainResult result;
  result.run_directory = config.output.directory / config.name;
  const std::filesystem::path checkpoint_path = result.run_directory / "checkpoint.bin";
  const std::filesystem::path metrics_path = result.run_directory / "metrics.jsonl";
  if (options.resume && !std::filesystem::exists(checkpoint_path)) {
    throw DataError("--resume: no checkpoint at '" + checkpoint_path.string() +
                    "' (start without --resume)");
  }

  // Data before anything is written, so a missing data set leaves no half-made run directory.
  const Dataset full_train = load_data_split(config, "train", config.data.train_limit);
  const Dataset test = load_data_split(config, "test", config.data.test_limit);
  auto [train_set, validation] =
      split_validation(full_train, config.data.validation_fraction, config.seed);

  std::filesystem::create_directories(result.run_directory);
  {
    std::ofstream resolved(result.run_directory / "config.toml", std::ios::trunc);
    resolved << config.resolved_toml;
  }

  Network<float> network = build_network<float>(config.layers, network_input_shape(config),
                                                config.data.time_steps, config.seed);
  network.set_gemm_precision(config.gemm_precision);
  Optimizer<float> optimizer(config.train.optimizer, network.parameters());
  ActivityMonitor<float> monitor(network);
  Homeostasis<float> homeostasis(config.homeostasis, network);
  const AlarmLimits limits = alarm_limits(config, homeostasis.bands(network));

  TrainingPosition position;
  if (options.resume) {
    const nlohmann::json header = read_checkpoint_header(checkpoint_path);
    read_checkpoint_tensors(checkpoint_path, checkpoint_tensors(network, optimizer));
    const nlohmann::json& saved = header.at("position");
    position.epoch = saved.at("epoch");
    position.next_batch = saved.at("next_batch");
    position.loss_sum = saved.at("loss_sum");
    position.correct = saved.at("correct");
    position.seen = saved.at("seen");
    position.epoch_seconds = saved.at("epoch_seconds");
    position.penalty_sum = saved.value("penalty_sum", 0.0);
    if (header.contains("homeostasis")) homeostasis.load_state(header.at("homeostasis"), network);
    optimizer.set_steps_taken(saved.at("optimizer_steps"));
    monitor.neuron_spike_sums() = saved.at("activity_sums").get<std::vector<std::vector<double>>>();
    monitor.step_sample_counts() = saved.at("activity_windows").get<std::vector<double>>();
    if (header.value("config", "") != config.resolved_toml) {
      std::fprintf(stderr,
                   "warning: the config differs from the one the checkpoint was written "
                   "with; continuing with the new one\n");
    }
    truncate_metrics(metrics_path, position.epoch, position.next_batch);
    std::fprintf(stderr, "resuming %s at epoch %zu, batch %zu\n", result.run_directory.c_str(),
                 position.epoch + 1, position.next_batch);
  } else {
    std::ofstream(metrics_path, std::ios::trunc);
    std::filesystem::remove(checkpoint_path);
  }

  const auto save = [&](const TrainingPosition& at) {
    nlohmann::json header;
    header["config"] = config.resolved_toml;
    header["position"] = position_json(at, optimizer.steps_taken(), monitor);
    header["homeostasis"] = homeostasis.save_state();
    header["homeostat_version"] = HOMEOSTAT_VERSION;
    write_checkpoint(checkpoint_path, header, checkpoint_tensors(network, optimizer));
  };
  const auto divergence = [&](const std::string& what, std::size_t epoch, std::size_t batch) {
    std::string message = "training diverged at epoch " + std::to_string(epoch + 1) + ", batch " +
                          std::to_string(batch + 1) + ": " + what;
    message += "; layer rates this epoch: " + rates_text(monitor.summary());
    if (std::filesystem::exists(checkpoint_path)) {
      message += "; the last good checkpoint is kept at " + checkpoint_path.string() +
                 " (lower train.lr, or set train.clip_grad_norm)";
    } else {
      message += "; no checkpoint had been written yet";
    }
    return DivergenceError(message);
  };

  const std::size_t batch_size = config.train.batch_size;
  const std::size_t batches = (train_set.size() + batch_size - 1) / batch_size;
  if (batches == 0) throw DataError("the training set is empty");
  const std::uint64_t total_steps = batches * config.train.epochs;
  ProgressLine progress(options.progress, config.output.progress_seconds);
  TrainingStep step(config, network, optimizer, monitor, homeostasis);
  const std::size_t batch_metrics_every = config.diagnostics.batch_metrics_every;
  const auto append_metrics = [&](const nlohmann::json& record) {
    std::ofstream metrics(metrics_path, std::ios::app);
    metrics << record.dump() << '\n';
  };
  const auto alarm_error = [&](const std::vector<Alarm>& alarms, std::size_t epoch,
                               const std::string& when) {
    std::string message =
        "epoch " + std::to_string(epoch + 1) + when + ": " + alarms.front().message();
    for (std::size_t i = 1; i < alarms.size(); ++i) message += "; " + alarms[i].message();
    message += std::filesystem::exists(checkpoint_path)
                   ? "; the last good checkpoint is kept at " + checkpoint_path.string()
                   : "; no checkpoint had been written yet";
    message += " (diagnostics.guard = true)";
    return AlarmError(message);
  };
  std::size_t batches_this_process = 0;
  double lr = config.train.optimizer.learning_rate;

  for (std::size_t epoch = position.epoch; epoch < config.train.epochs; ++epoch) {
    if (epoch != position.epoch || position.next_batch == 0) {
      position = TrainingPosition{epoch, 0, 0.0, 0, 0, 0.0, 0.0};
      monitor.reset();
    }
    const std::vector<std::size_t> order = epoch_order(train_set.size(), config.seed, epoch);
    std::vector<std::int32_t> labels;
    const Clock::time_point epoch_start = Clock::now();
    const double seconds_before = position.epoch_seconds;
    for (std::size_t batch = position.next_batch; batch < batches; ++batch) {
      const Clock::time_point batch_start = Clock::now();
      const std::size_t begin = batch * batch_size;
      const std::size_t end = std::min(train_set.size(), begin + batch_size);
      const std::span<const std::size_t> indices(order.data() + begin, end - begin);
      labels.resize(indices.size());
      for (std::size_t i = 0; i < indices.size(); ++i) labels[i] = train_set.labels[indices[i]];
      lr = scheduled_learning_rate(config.train.schedule, config.train.optimizer.learning_rate,
                                   optimizer.steps_taken(), batches, total_steps);
      const TrainingClock clock{epoch, batch, batches};
      const TrainingStep::Outcome outcome = step.run(train_set, indices, labels, clock, lr);
      const LossResult& loss = outcome.loss;
      if (!std::isfinite(loss.loss)) {
        throw divergence("the loss is " + std::to_string(loss.loss), epoch, batch);
      }
      if (!std::isfinite(outcome.gradient_norm)) {
        throw divergence("the gradient norm is " + std::to_string(outcome.gradient_norm), epoch,
                         batch);
      }

      position.loss_sum += loss.loss * static_cast<double>(indices.size());
      position.penalty_sum += outcome.penalty * static_cast<double>(indices.size());
      std::size_t batch_correct = 0;
      for (std::size_t i = 0; i < indices.size(); ++i) {
        batch_correct += loss.predictions[i] == labels[i];
      }
      position.correct += batch_correct;
      position.seen += indices.size();
      position.next_batch = batch + 1;
      position.epoch_seconds = seconds_before + seconds_since(epoch_start);

      const double batch_ms = 1e3 * seconds_since(batch_start);
      const double per_batch = position.epoch_seconds / static_cast<double>(batch + 1);
      const double remaining_batches =
          static_cast<double>((config.train.epochs - epoch) * batches - (batch + 1));
      std::vector<LayerActivity> running = monitor.summary();
      annotate_threshold_scales(running, network);
      progress.update(epoch + 1, config.train.epochs, batch + 1, batches,
                      position.loss_sum / static_cast<double>(position.seen),
                      static_cast<double>(position.correct) / static_cast<double>(position.seen),
                      running, batch_ms, per_batch * remaining_batches);
      if (batch_metrics_every && (batch + 1) % batch_metrics_every == 0) {
        const BatchActivity& last = monitor.last_batch();
        nlohmann::json record;
        record["kind"] = "batch";
        record["epoch"] = epoch + 1;
        record["batch"] = batch + 1;
        record["progress"] = clock.progress() + 1.0 / static_cast<double>(batches);
        record["loss"] = loss.loss;
        record["penalty"] = outcome.penalty;
        record["accuracy"] =
            static_cast<double>(batch_correct) / static_cast<double>(indices.size());
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
      if (config.diagnostics.guard && 4 * (batch + 1) >= batches) {
        std::vector<Alarm> alarms = check_alarms(running, limits);
        std::erase_if(alarms, [](const Alarm& a) { return a.kind != AlarmKind::saturation; });
        if (!alarms.empty()) {
          progress.finish_line();
          throw alarm_error(alarms, epoch, ", batch " + std::to_string(batch + 1));
        }
      }

      ++batches_this_process;
      if (options.stop_after_batches && batches_this_process >= options.stop_after_batches) {
        progress.finish_line();
        result.stopped_early = true;
        return result;
      }
      if (config.output.checkpoint_every && (batch + 1) % config.output.checkpoint_every == 0 &&
          batch + 1 < batches) {
        save(position);
      }
    }
    progress.finish_line();

    std::vector<LayerActivity> train_activity = monitor.summary();
    annotate_threshold_scales(train_activity, network);
    const double train_seconds = position.epoch_seconds;
    const EvaluationResult tested = evaluate(network, config, test);
    double progress_accuracy =
        static_cast<double>(position.correct) / static_cast<double>(position.seen);
    nlohmann::json record;
    record["kind"] = "epoch";
    record["epoch"] = epoch + 1;
    record["train_loss"] = position.loss_sum / static_cast<double>(position.seen);
    record["train_accuracy"] =
        static_cast<double>(position.correct) / static_cast<double>(position.seen);
    record["test_loss"] = tested.loss;
    record["test_accuracy"] = tested.accuracy;
    if (validation.size() > 0) {
      const EvaluationResult validated = evaluate(network, config, validation);
      record["validation_accuracy"] = validated.accuracy;
      record["validation_loss"] = validated.loss;
      progress_accuracy = validated.accuracy;
    }
    record["train_penalty"] = position.penalty_sum / static_cast<double>(position.seen);
    record["seconds"] = train_seconds;
    record["lr"] = lr;
    record["rate"] = rates_json(train_activity, &LayerActivity::rate);
    record["dead"] = rates_json(train_activity, &LayerActivity::dead_fraction);
    record["saturated"] = rates_json(train_activity, &LayerActivity::saturated_fraction);
    record["test_rate"] = rates_json(tested.activity, &LayerActivity::rate);
    record["threshold_scale"] = rates_json(train_activity, &LayerActivity::threshold_scale);
    record["synops"] = tested.synops_per_sample;
    record["information_bits"] = tested.information_bits;
    record["synaptic_efficiency"] = tested.synaptic_efficiency;
    {
      double hidden_rate = 0.0;
      for (const LayerActivity& a : tested.activity) hidden_rate += a.rate;
      hidden_rate /= static_cast<double>(std::max<std::size_t>(1, tested.activity.size()));
      record["accuracy_per_rate"] = hidden_rate > 0 ? tested.accuracy / hidden_rate : 0.0;
    }
    {
      std::map<std::string, std::pair<double, double>> bands = limits.bands;
      for (const LayerActivity& a : train_activity) bands.emplace(a.name, limits.default_band);
      record["bands"] = bands_json(bands);
    }
    record["neuron_rates"] = neuron_rates_json(monitor, train_activity);
    if (!homeostasis.empty()) record["homeostasis"] = homeostasis.describe(network);
    const std::vector<Alarm> alarms = check_alarms(train_activity, limits);
    nlohmann::json alarm_list = nlohmann::json::array();
    for (const Alarm& a : alarms) {
      alarm_list.push_back({{"layer", a.layer},
                            {"kind", alarm_kind_name(a.kind)},
                            {"value", a.value},
                            {"limit", a.limit},
                            {"message", a.message()}});
    }
    record["alarms"] = alarm_list;
    append_metrics(record);
    for (const Alarm& a : alarms) std::fprintf(stderr, "warning: %s\n", a.message().c_str());
    if (config.diagnostics.guard && !alarms.empty()) {
      if (config.diagnostics.report) write_run_report(result.run_directory, network, config, test);
      throw alarm_error(alarms, epoch, "");
    }
    std::vector<double> epoch_rates;
    for (const LayerActivity& a : train_activity) epoch_rates.push_back(a.rate);
    homeostasis.end_epoch(network, EpochSignals{epoch, progress_accuracy, epoch_rates});
    result.epochs.push_back(record);
    result.test_accuracy = tested.accuracy;
    if (!options.quiet) {
      std::printf(
          "epoch %zu/%zu  train loss %.4f  train acc %.2f%%  test acc %.2f%%  rate %s  "
          "(%.1f s)\n",
          epoch + 1, config.train.epochs, record["train_loss"].get<double>(),
          100.0 * record["train_accuracy"].get<double>(), 100.0 * tested.accuracy,
          rates_text(train_activity).c_str(), train_seconds);
      std::fflush(stdout);
    }
    TrainingPosition next{epoch + 1, 0, 0.0, 0, 0, 0.0, 0.0};
    monitor.reset();
    save(next);
    position = next;
  }
  if (config.diagnostics.report) write_run_report(result.run_directory, network, config, test);
  return result;
}

LoadedModel load_model(const std::filesystem::path& checkpoint) {
  nlohmann::json header = read_checkpoint_header(checkpoint);
  ConfigDocument document =
      parse_config_string(header.at("config").get<std::string>(), checkpoint.string() + ":config");
  ExperimentConfig config = parse_experiment(std::move(document));
  Network<float> network = build_network<float>(config.layers, network_input_shape(config),
                                                config.data.time_steps, config.seed);
  network.set_gemm_precision(config.gemm_precision);
  Optimizer<float> optimizer(config.train.optimizer, network.parameters());
  read_checkpoint_tensors(checkpoint, checkpoint_tensors(network, optimizer));
  Homeostasis<float> homeostasis(config.homeostasis, network);
  if (header.contains("homeostasis")) homeostasis.load_state(header.at("homeostasis"), network);
  return {std::move(config), std::move(network), std::move(homeostasis), std::move(header)};
}

}  // namespace homeostat
