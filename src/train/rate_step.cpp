// TrainingStep::run for train.method = "rate": the batch is encoded one chunk of steps at a time
// where the encoder allows it (rate, poisson and direct codes of static data: the chunk starting
// at step t draws from the stream keyed by (epoch, batch, t)), so not even the network input
// grows with T; latency, delta and sequence codes are encoded whole (the input alone is
// [T, B, F]) and fed chunk by chunk.
#include <algorithm>
#include <cmath>

#include "data/encoder.hpp"
#include "train/trainer.hpp"

namespace homeostat {

TrainingStep::Outcome TrainingStep::run_rate(const Dataset& data,
                                             std::span<const std::size_t> indices,
                                             std::span<const std::int32_t> labels,
                                             const TrainingClock& clock, double learning_rate) {
  const std::uint64_t epoch = clock.epoch;
  const std::uint64_t batch = clock.batch;
  const std::size_t steps = config_.data.time_steps;
  const std::size_t samples = indices.size();
  gather_batch(data, indices, scratch_);
  const ViewShape view = view_shape(config_.data.view, data.sample_shape);
  const std::size_t features = shape_size(view.feature_shape);
  const EncoderKind kind = config_.encoder.kind;
  const bool per_step =
      view.frames == 1 &&
      (kind == EncoderKind::rate || kind == EncoderKind::poisson || kind == EncoderKind::direct);
  Shape chunk_shape{1, samples};
  chunk_shape.insert(chunk_shape.end(), features_.begin(), features_.end());
  if (!per_step) {
    encode<float>(config_.encoder, scratch_, samples, view.frames, features, steps,
                  CounterRng(config_.seed, RngPurpose::encode, {epoch, batch}), input_);
  }
  const auto chunk_input = [&](std::size_t t_begin, std::size_t count, Tensor<float>& chunk) {
    chunk_shape[0] = count;
    if (per_step) {
      encode<float>(config_.encoder, scratch_, samples, 1, features, count,
                    CounterRng(config_.seed, RngPurpose::encode, {epoch, batch, t_begin}), chunk);
      chunk.reshape(chunk_shape);
    } else {
      chunk.resize(chunk_shape);
      const std::size_t per = input_.stride0();
      std::copy_n(input_.data() + t_begin * per, count * per, chunk.data());
    }
  };
  rate_->spike_pass(steps, samples, chunk_input, RunContext{true, config_.seed, epoch, batch});
  monitor_.observe_rates(rate_->spiking_rates(), steps);
  const BatchActivity& activity = monitor_.last_batch();
  network_.zero_grad();
  rate_->rate_forward();
  Outcome outcome;
  outcome.loss = compute_loss(rate_->loss_spec(), rate_->loss_output(), labels, grad_output_);
  if (!std::isfinite(outcome.loss.loss)) return outcome;
  homeostasis_.after_forward(network_, activity, clock);
  outcome.penalty = homeostasis_.penalty(activity, clock);
  rate_->backward(grad_output_, homeostasis_.gradient_hook());
  outcome.gradient_norm = optimizer_.step(learning_rate);
  if (std::isfinite(outcome.gradient_norm)) homeostasis_.after_update(network_, activity, clock);
  return outcome;
}

}  // namespace homeostat

namespace homeostat {

std::size_t TrainingStep::training_buffer_bytes() const {
  std::size_t bytes = input_.size() * sizeof(float);
  if (rate_) return bytes + rate_->backward_buffer_bytes() + rate_->workspace_bytes();
  bytes += network_.activation_bytes();
  for (const std::size_t i : network_.spiking_layers())
    bytes += network_.layer(i).neurons()->membrane().size() * sizeof(float);
  return bytes;
}

}  // namespace homeostat
