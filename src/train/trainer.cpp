#include "train/trainer.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "common/error.hpp"
#include "data/dataset.hpp"
#include "data/encoder.hpp"
#include "io/checkpoint.hpp"
#include "io/progress.hpp"
#include "network/builder.hpp"
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

// Gathers and encodes the samples at `indices` into input [T, B, features...].
void encode_batch(const ExperimentConfig& config, const Dataset& data,
                  std::span<const std::size_t> indices, const CounterRng& rng,
                  const Shape& feature_shape, std::vector<float>& scratch, Tensor<float>& input) {
  gather_batch(data, indices, scratch);
  const ViewShape view = view_shape(config.data.view, data.sample_shape);
  encode<float>(config.encoder, scratch, indices.size(), view.frames,
                shape_size(view.feature_shape), config.data.time_steps, rng, input);
  Shape shape{config.data.time_steps, indices.size()};
  shape.insert(shape.end(), feature_shape.begin(), feature_shape.end());
  input.reshape(shape);
}

nlohmann::json rates_json(const std::vector<LayerActivity>& activity,
                          double LayerActivity::*field) {
  nlohmann::json object = nlohmann::json::object();
  for (const LayerActivity& a : activity) object[a.name] = a.*field;
  return object;
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
          {"optimizer_steps", steps},
          {"activity_sums", monitor.neuron_spike_sums()},
          {"activity_windows", monitor.step_sample_counts()}};
}

// Keeps the metrics lines of epochs before `epochs_done` (a resumed run rewrites the rest).
void truncate_metrics(const std::filesystem::path& path, std::size_t epochs_done) {
  std::ifstream in(path);
  std::vector<std::string> kept;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    const auto record = nlohmann::json::parse(line, nullptr, false);
    if (!record.is_discarded() && record.value("epoch", std::size_t{0}) <= epochs_done) {
      kept.push_back(line);
    }
  }
  in.close();
  std::ofstream out(path, std::ios::trunc);
  for (const std::string& k : kept) out << k << '\n';
}

Dataset load_split(const ExperimentConfig& config, std::string_view split, std::size_t limit) {
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

}  // namespace

TrainingStep::TrainingStep(const ExperimentConfig& config, Network<float>& network,
                           Optimizer<float>& optimizer)
    : config_(config), network_(network), optimizer_(optimizer), features_(network.input_shape()) {}

TrainingStep::Outcome TrainingStep::run(const Dataset& data, std::span<const std::size_t> indices,
                                        std::span<const std::int32_t> labels, std::uint64_t epoch,
                                        std::uint64_t batch, double learning_rate) {
  encode_batch(config_, data, indices, CounterRng(config_.seed, RngPurpose::encode, {epoch, batch}),
               features_, scratch_, input_);
  network_.zero_grad();
  const Tensor<float>& output =
      network_.forward(input_, RunContext{true, config_.seed, epoch, batch});
  Outcome outcome;
  outcome.loss = compute_loss(config_.train.loss, output, labels, grad_output_);
  if (!std::isfinite(outcome.loss.loss)) return outcome;
  network_.backward(grad_output_);
  outcome.gradient_norm = optimizer_.step(learning_rate);
  return outcome;
}

EvaluationResult evaluate(Network<float>& network, const ExperimentConfig& config,
                          const Dataset& data) {
  EvaluationResult result;
  const std::size_t classes = config.data.num_classes;
  result.confusion.assign(classes * classes, 0);
  ActivityMonitor<float> monitor(network);
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
  }
  result.samples = data.size();
  result.accuracy =
      data.size() ? static_cast<double>(correct) / static_cast<double>(data.size()) : 0;
  result.loss = data.size() ? loss_sum / static_cast<double>(data.size()) : 0;
  result.activity = monitor.summary();
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
  const Dataset full_train = load_split(config, "train", config.data.train_limit);
  const Dataset test = load_split(config, "test", config.data.test_limit);
  auto [train_set, validation] =
      split_validation(full_train, config.data.validation_fraction, config.seed);

  std::filesystem::create_directories(result.run_directory);
  {
    std::ofstream resolved(result.run_directory / "config.toml", std::ios::trunc);
    resolved << config.resolved_toml;
  }

  Network<float> network = build_network<float>(config.layers, network_input_shape(config),
                                                config.data.time_steps, config.seed);
  Optimizer<float> optimizer(config.train.optimizer, network.parameters());
  ActivityMonitor<float> monitor(network);

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
    optimizer.set_steps_taken(saved.at("optimizer_steps"));
    monitor.neuron_spike_sums() = saved.at("activity_sums").get<std::vector<std::vector<double>>>();
    monitor.step_sample_counts() = saved.at("activity_windows").get<std::vector<double>>();
    if (header.value("config", "") != config.resolved_toml) {
      std::fprintf(stderr,
                   "warning: the config differs from the one the checkpoint was written "
                   "with; continuing with the new one\n");
    }
    truncate_metrics(metrics_path, position.epoch);
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
  TrainingStep step(config, network, optimizer);
  std::size_t batches_this_process = 0;
  double lr = config.train.optimizer.learning_rate;

  for (std::size_t epoch = position.epoch; epoch < config.train.epochs; ++epoch) {
    if (epoch != position.epoch || position.next_batch == 0) {
      position = TrainingPosition{epoch, 0, 0.0, 0, 0, 0.0};
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
      const TrainingStep::Outcome outcome = step.run(train_set, indices, labels, epoch, batch, lr);
      const LossResult& loss = outcome.loss;
      monitor.observe(network);
      if (!std::isfinite(loss.loss)) {
        throw divergence("the loss is " + std::to_string(loss.loss), epoch, batch);
      }
      if (!std::isfinite(outcome.gradient_norm)) {
        throw divergence("the gradient norm is " + std::to_string(outcome.gradient_norm), epoch,
                         batch);
      }

      position.loss_sum += loss.loss * static_cast<double>(indices.size());
      for (std::size_t i = 0; i < indices.size(); ++i) {
        position.correct += loss.predictions[i] == labels[i];
      }
      position.seen += indices.size();
      position.next_batch = batch + 1;
      position.epoch_seconds = seconds_before + seconds_since(epoch_start);

      const double batch_ms = 1e3 * seconds_since(batch_start);
      const double per_batch = position.epoch_seconds / static_cast<double>(batch + 1);
      const double remaining_batches =
          static_cast<double>((config.train.epochs - epoch) * batches - (batch + 1));
      progress.update(epoch + 1, config.train.epochs, batch + 1, batches,
                      position.loss_sum / static_cast<double>(position.seen),
                      static_cast<double>(position.correct) / static_cast<double>(position.seen),
                      monitor.summary(), batch_ms, per_batch * remaining_batches);

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

    const std::vector<LayerActivity> train_activity = monitor.summary();
    const double train_seconds = position.epoch_seconds;
    const EvaluationResult tested = evaluate(network, config, test);
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
    }
    record["seconds"] = train_seconds;
    record["lr"] = lr;
    record["rate"] = rates_json(train_activity, &LayerActivity::rate);
    record["dead"] = rates_json(train_activity, &LayerActivity::dead_fraction);
    record["saturated"] = rates_json(train_activity, &LayerActivity::saturated_fraction);
    record["test_rate"] = rates_json(tested.activity, &LayerActivity::rate);
    {
      std::ofstream metrics(metrics_path, std::ios::app);
      metrics << record.dump() << '\n';
    }
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
    TrainingPosition next{epoch + 1, 0, 0.0, 0, 0, 0.0};
    monitor.reset();
    save(next);
    position = next;
  }
  return result;
}

LoadedModel load_model(const std::filesystem::path& checkpoint) {
  nlohmann::json header = read_checkpoint_header(checkpoint);
  ConfigDocument document =
      parse_config_string(header.at("config").get<std::string>(), checkpoint.string() + ":config");
  ExperimentConfig config = parse_experiment(std::move(document));
  Network<float> network = build_network<float>(config.layers, network_input_shape(config),
                                                config.data.time_steps, config.seed);
  Optimizer<float> optimizer(config.train.optimizer, network.parameters());
  read_checkpoint_tensors(checkpoint, checkpoint_tensors(network, optimizer));
  return {std::move(config), std::move(network), std::move(header)};
}

}  // namespace homeostat
