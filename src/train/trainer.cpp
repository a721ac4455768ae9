#include "train/trainer.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "common/error.hpp"
#include "data/dataset.hpp"
#include "data/encoder.hpp"
#include "data/event_files.hpp"
#include "data/events.hpp"
#include "metrics/information.hpp"
#include "metrics/synops.hpp"
#include "network/builder.hpp"
#include "tensor/blas.hpp"
#include "train/loss.hpp"
#include "train/optimizer.hpp"

namespace homeostat {

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

void check_data_fits(const Dataset& data, const ExperimentConfig& config,
                     const std::string& source) {
  const Shape expected = data_sample_shape(config.data);
  const Shape found = data.has_events() ? event_frame_shape(data.events.width, data.events.height,
                                                            config.data.event_binning.downsample)
                                        : data.sample_shape;
  if (found != expected) {
    throw DataError(source + " has samples of shape " + shape_string(found) +
                    " but the network was built for " + shape_string(expected));
  }
  if (data.num_classes > config.data.num_classes) {
    throw DataError("the labels of " + source + " go up to " +
                    std::to_string(data.num_classes - 1) + " but the network has " +
                    std::to_string(config.data.num_classes) + " classes (data.classes)");
  }
}

TrainingStep::TrainingStep(const ExperimentConfig& config, Network<float>& network,
                           Optimizer<float>& optimizer, ActivityMonitor<float>& monitor,
                           Homeostasis<float>& homeostasis, Communicator& communicator)
    : config_(config),
      network_(network),
      optimizer_(optimizer),
      monitor_(monitor),
      homeostasis_(homeostasis),
      features_(network.input_shape()),
      communicator_(communicator) {
  if (config.train.method == TrainMethod::rate)
    rate_ = std::make_unique<RatePass<float>>(network, config.train.loss);
  const auto ranks = static_cast<std::size_t>(communicator.size());
  if (config.train.shards % ranks != 0) {
    throw ConfigError("train.shards = " + std::to_string(config.train.shards) +
                      " cannot be shared by " + std::to_string(ranks) +
                      " MPI ranks: set train.shards to a multiple of " + std::to_string(ranks) +
                      " (the same train.shards gives the same results on any number of ranks "
                      "that divides it)");
  }
  if (config.train.shards > 1) {
    if (const auto buffers = network.state_buffers(); !buffers.empty()) {
      throw ConfigError("train.shards > 1 cannot train a network with batch statistics ('" +
                        buffers.front().name +
                        "'): each shard would update them apart; use train.shards = 1");
    }
    shard_monitor_ = std::make_unique<ActivityMonitor<float>>(network);
  }
}

TrainingStep::Outcome TrainingStep::run(const Dataset& data, std::span<const std::size_t> indices,
                                        std::span<const std::int32_t> labels,
                                        const TrainingClock& clock, double learning_rate) {
  if (rate_) return run_rate(data, indices, labels, clock, learning_rate);
  if (shard_monitor_) return run_sharded(data, indices, labels, clock, learning_rate);
  const std::uint64_t epoch = clock.epoch;
  const std::uint64_t batch = clock.batch;
  encode_training_batch(data, indices, clock);
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

void TrainingStep::encode_training_batch(const Dataset& data, std::span<const std::size_t> indices,
                                         const TrainingClock& clock) {
  const CounterRng augment_rng(config_.seed, RngPurpose::augment, {clock.epoch, clock.batch});
  encode_batch(config_, data, indices,
               CounterRng(config_.seed, RngPurpose::encode, {clock.epoch, clock.batch}), features_,
               scratch_, input_, &augment_rng);
}

EvaluationResult evaluate(Network<float>& network, const ExperimentConfig& config,
                          const Dataset& data) {
  check_data_fits(data, config, "the evaluation data");
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

}  // namespace homeostat
