// TrainingStep over train.shards fixed shards of the batch (trainer.hpp): every shard's
// gradient is computed from zero and weighted by its share of the batch, then the shards' parts
// are summed in shard order across the ranks, so the step has the same bits on any number of
// ranks dividing train.shards.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "train/trainer.hpp"

namespace homeostat {

std::pair<std::size_t, std::size_t> shard_range(std::size_t samples, std::size_t shards,
                                                std::size_t shard) {
  const std::size_t base = samples / shards;
  const std::size_t larger = samples % shards;
  const std::size_t begin = shard * base + std::min(shard, larger);
  return {begin, begin + base + (shard < larger ? 1 : 0)};
}

namespace {

// The statistics part of a shard: [loss x samples, one prediction per sample of the batch (zero
// outside the shard), the spike count of every neuron of every spiking layer].
constexpr std::size_t kLossSlot = 0;
constexpr std::size_t kPredictionsSlot = 1;

std::size_t gradient_size(const std::vector<Parameter<float>*>& parameters) {
  std::size_t size = 0;
  for (const Parameter<float>* p : parameters) size += p->grad.size();
  return size;
}

// Samples [begin, end) of every step of a time-major batch [T, B, ...] into [T, end - begin, ...].
void slice_samples(const Tensor<float>& batch, std::size_t begin, std::size_t end,
                   Tensor<float>& shard) {
  Shape shape = batch.shape();
  const std::size_t steps = shape[0];
  const std::size_t samples = shape[1];
  const std::size_t sample_size = batch.size() / (steps * samples);
  shape[1] = end - begin;
  shard.resize(shape);
  for (std::size_t t = 0; t < steps; ++t) {
    std::memcpy(shard.data() + t * shape[1] * sample_size,
                batch.data() + (t * samples + begin) * sample_size,
                shape[1] * sample_size * sizeof(float));
  }
}

}  // namespace

void TrainingStep::run_shard(std::size_t shard, std::size_t begin, std::size_t end,
                             std::span<const std::int32_t> labels, const TrainingClock& clock,
                             std::vector<float>& gradient, std::vector<double>& statistics) {
  const std::size_t samples = end - begin;
  const std::size_t batch_size = labels.size();
  std::fill(statistics.begin(), statistics.end(), 0.0);
  if (samples == 0) {  // a last batch smaller than train.shards
    std::fill(gradient.begin(), gradient.end(), 0.0f);
    return;
  }
  slice_samples(input_, begin, end, shard_input_);
  network_.zero_grad();
  const Tensor<float>& output = network_.forward(
      shard_input_, RunContext{true, config_.seed, clock.epoch, clock.batch, shard});
  shard_monitor_->reset();
  shard_monitor_->observe(network_);
  const LossResult loss =
      compute_loss(config_.train.loss, output, labels.subspan(begin, samples), grad_output_);
  const auto share = static_cast<double>(samples);
  statistics[kLossSlot] = loss.loss * share;
  for (std::size_t i = 0; i < samples; ++i) {
    statistics[kPredictionsSlot + begin + i] = static_cast<double>(loss.predictions[i]);
  }
  std::size_t slot = kPredictionsSlot + batch_size;
  for (const std::vector<double>& counts : shard_monitor_->neuron_spike_sums()) {
    std::copy(counts.begin(), counts.end(), statistics.begin() + static_cast<std::ptrdiff_t>(slot));
    slot += counts.size();
  }
  if (!std::isfinite(loss.loss)) return;  // the reduced loss is not finite: no step, no gradient
  homeostasis_.penalty(shard_monitor_->last_batch(), clock);  // this shard's regulator gradients
  network_.backward(grad_output_, homeostasis_.gradient_hook());
  // The shard's gradient is of its mean loss: weighted by its share, the shards sum to the
  // gradient of the batch's mean.
  const auto weight = static_cast<float>(share / static_cast<double>(batch_size));
  std::size_t offset = 0;
  for (const Parameter<float>* p : network_.parameters()) {
    const float* g = p->grad.data();
    for (std::size_t i = 0; i < p->grad.size(); ++i) gradient[offset + i] = g[i] * weight;
    offset += p->grad.size();
  }
}

TrainingStep::Outcome TrainingStep::run_sharded(const Dataset& data,
                                                std::span<const std::size_t> indices,
                                                std::span<const std::int32_t> labels,
                                                const TrainingClock& clock, double learning_rate) {
  // The whole batch is encoded on every rank: its random draws stay those of the whole batch.
  encode_training_batch(data, indices, clock);
  const std::size_t batch_size = indices.size();
  const std::size_t shards = config_.train.shards;
  const auto ranks = static_cast<std::size_t>(communicator_.size());
  const std::size_t per_rank = shards / ranks;
  const std::size_t first = per_rank * static_cast<std::size_t>(communicator_.rank());
  const std::vector<Parameter<float>*> parameters = network_.parameters();
  std::size_t neurons = 0;
  for (const std::vector<double>& counts : monitor_.neuron_spike_sums()) neurons += counts.size();
  shard_gradients_.resize(per_rank);
  shard_statistics_.resize(per_rank);
  std::vector<std::span<const float>> gradient_parts;
  std::vector<std::span<const double>> statistics_parts;
  for (std::size_t j = 0; j < per_rank; ++j) {
    shard_gradients_[j].resize(gradient_size(parameters));
    shard_statistics_[j].resize(kPredictionsSlot + batch_size + neurons);
    const auto [begin, end] = shard_range(batch_size, shards, first + j);
    run_shard(first + j, begin, end, labels, clock, shard_gradients_[j], shard_statistics_[j]);
    gradient_parts.emplace_back(shard_gradients_[j]);
    statistics_parts.emplace_back(shard_statistics_[j]);
  }
  gradient_total_.resize(shard_gradients_.front().size());
  statistics_total_.resize(shard_statistics_.front().size());
  communicator_.ordered_sum(statistics_parts, statistics_total_);

  Outcome outcome;
  const auto samples = static_cast<double>(batch_size);
  outcome.loss.loss = statistics_total_[kLossSlot] / samples;
  outcome.loss.predictions.resize(batch_size);
  for (std::size_t i = 0; i < batch_size; ++i) {
    outcome.loss.predictions[i] =
        static_cast<std::int32_t>(statistics_total_[kPredictionsSlot + i]);
  }
  if (!std::isfinite(outcome.loss.loss)) return outcome;  // the same on every rank
  communicator_.ordered_sum(gradient_parts, gradient_total_);
  monitor_.observe_counts(
      std::span<const double>(statistics_total_).subspan(kPredictionsSlot + batch_size),
      input_.dim(0), batch_size);
  const BatchActivity& activity = monitor_.last_batch();
  homeostasis_.after_forward(network_, activity, clock);
  // The whole batch's penalty (what the regulators report); the gradients were the shards'.
  outcome.penalty = homeostasis_.penalty(activity, clock);
  std::size_t offset = 0;
  for (Parameter<float>* p : parameters) {
    std::copy_n(gradient_total_.begin() + static_cast<std::ptrdiff_t>(offset), p->grad.size(),
                p->grad.data());
    offset += p->grad.size();
  }
  outcome.gradient_norm = optimizer_.step(learning_rate);
  if (std::isfinite(outcome.gradient_norm)) homeostasis_.after_update(network_, activity, clock);
  return outcome;
}

}  // namespace homeostat
