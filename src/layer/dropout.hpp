// Dropout with ONE mask per sample for all time steps (a unit dropped at step 0 stays dropped),
// inverted scaling by 1/(1-p) during training, identity at evaluation. The mask is drawn from a
// counter-based stream keyed by (seed, epoch, batch, layer[, shard]) and kept for the backward
// pass.
#pragma once

#include <cstddef>
#include <vector>

#include "layer/layer.hpp"
#include "random/counter_rng.hpp"

namespace homeostat {

// Multiplies every step of a time-major [T, per_step] buffer by the same mask, in place: the
// forward and backward of both dropout layers (dropout.hpp, moderate_dropout.hpp).
template <typename Real>
void apply_step_mask(Real* data, std::size_t steps, const std::vector<Real>& mask) {
  const std::size_t per_step = mask.size();
  for (std::size_t t = 0; t < steps; ++t) {
    Real* step = data + t * per_step;
    for (std::size_t e = 0; e < per_step; ++e) step[e] *= mask[e];
  }
}

// The stream of a dropout layer's masks in one pass: each shard of a sharded batch draws its own
// (shard 0, and an unsharded batch, keep the stream of (seed, epoch, batch, layer)).
inline CounterRng dropout_rng(const RunContext& context, std::uint64_t layer_index) {
  if (context.shard == 0) {
    return {context.seed, RngPurpose::dropout, {context.epoch, context.batch, layer_index}};
  }
  return {context.seed,
          RngPurpose::dropout,
          {context.epoch, context.batch, layer_index, context.shard}};
}

template <typename Real>
class DropoutLayer final : public Layer<Real> {
 public:
  DropoutLayer(std::string name, const Shape& input_shape, double drop_probability,
               std::uint64_t layer_index)
      : Layer<Real>(name, input_shape, input_shape),
        drop_probability_(drop_probability),
        layer_index_(layer_index) {}

  [[nodiscard]] std::string_view kind() const override { return "dropout"; }

  void forward(const Tensor<Real>& input, Tensor<Real>& output,
               const RunContext& context) override {
    output = input;
    active_ = context.training && drop_probability_ > 0.0;
    if (!active_) return;
    const std::size_t per_step = input.stride0();
    const CounterRng rng = dropout_rng(context, layer_index_);
    const Real keep_scale = static_cast<Real>(1.0 / (1.0 - drop_probability_));
    mask_.resize(per_step);
    for (std::size_t e = 0; e < per_step; ++e) {
      mask_[e] = rng.uniform(e) < drop_probability_ ? Real{0} : keep_scale;
    }
    apply_step_mask(output.data(), input.dim(0), mask_);
  }

  void backward(const Tensor<Real>& input, const Tensor<Real>&, const Tensor<Real>& grad_output,
                Tensor<Real>* grad_input) override {
    if (!grad_input) return;
    *grad_input = grad_output;
    if (!active_) return;
    apply_step_mask(grad_input->data(), input.dim(0), mask_);
  }

  // The mask of the last training forward pass, [B * features] (for tests).
  [[nodiscard]] const std::vector<Real>& mask() const { return mask_; }

 private:
  double drop_probability_;
  std::uint64_t layer_index_;
  bool active_ = false;
  std::vector<Real> mask_;
};

}  // namespace homeostat
