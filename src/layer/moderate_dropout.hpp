// Moderate dropout (LTMD, papers.md 5b; sq117/LTMD `dropout_layer`): activity-dependent keep
// probabilities, so more active units are more likely to be kept. For an input x [T, B, F...]
// during training, over all B * F elements e of the batch:
//   d_e = (1/T) sum_t x_t,e                         (the unit's rate in this sample)
//   p_e = (d_e - min d) / (max d - min d)           (p = 0 everywhere when max d = min d)
//   q_e = clip(1 - (1 - p_e) r / (1 - mean p), 0, 1)   (drop rate r; mean q = 1 - r unclipped)
//   m_e ~ Bernoulli(q_e),  y_t,e = x_t,e m_e / q_e  (ONE mask for every step)
// The uniforms come from the counter-based stream (seed, dropout, epoch, batch, layer), like
// `dropout`. Backward multiplies by the same m / q, a constant: LTMD's code also lets autograd
// through 1/q (which depends on the batch's rates); here, as in ordinary dropout, it does not.
// Identity at evaluation.
#pragma once

#include <algorithm>
#include <span>
#include <vector>

#include "layer/dropout.hpp"
#include "layer/layer.hpp"
#include "random/counter_rng.hpp"

namespace homeostat {

// q_e from the rates d_e (the equations above).
inline void moderate_keep_probabilities(std::span<const double> rates, double drop_rate,
                                        std::vector<double>& keep) {
  keep.resize(rates.size());
  if (rates.empty()) return;
  const auto [low, high] = std::minmax_element(rates.begin(), rates.end());
  const double range = *high - *low;
  double mean_p = 0.0;
  for (std::size_t e = 0; e < rates.size(); ++e) {
    keep[e] = range > 0.0 ? (rates[e] - *low) / range : 0.0;
    mean_p += keep[e];
  }
  mean_p /= static_cast<double>(rates.size());
  // mean p = 1 needs every p = 1, which range > 0 excludes.
  const double factor = drop_rate / (1.0 - mean_p);
  for (double& q : keep) q = std::clamp(1.0 - (1.0 - q) * factor, 0.0, 1.0);
}

template <typename Real>
class ModerateDropoutLayer final : public Layer<Real> {
 public:
  ModerateDropoutLayer(std::string name, const Shape& input_shape, double drop_rate,
                       std::uint64_t layer_index)
      : Layer<Real>(name, input_shape, input_shape),
        drop_rate_(drop_rate),
        layer_index_(layer_index) {}

  [[nodiscard]] std::string_view kind() const override { return "moderate_dropout"; }

  void forward(const Tensor<Real>& input, Tensor<Real>& output,
               const RunContext& context) override {
    output = input;
    active_ = context.training && drop_rate_ > 0.0;
    if (!active_) return;
    const std::size_t steps = input.dim(0);
    const std::size_t per_step = input.stride0();
    rates_.assign(per_step, 0.0);
    for (std::size_t t = 0; t < steps; ++t) {
      const Real* x = input.data() + t * per_step;
      for (std::size_t e = 0; e < per_step; ++e) rates_[e] += static_cast<double>(x[e]);
    }
    for (double& d : rates_) d /= static_cast<double>(steps);
    moderate_keep_probabilities(rates_, drop_rate_, keep_);
    const CounterRng rng = dropout_rng(context, layer_index_);
    mask_.resize(per_step);
    for (std::size_t e = 0; e < per_step; ++e) {
      mask_[e] = rng.uniform(e) < keep_[e] ? static_cast<Real>(1.0 / keep_[e]) : Real{0};
    }
    apply_step_mask(output.data(), steps, mask_);
  }

  void backward(const Tensor<Real>& input, const Tensor<Real>&, const Tensor<Real>& grad_output,
                Tensor<Real>* grad_input) override {
    if (!grad_input) return;
    *grad_input = grad_output;
    if (!active_) return;
    apply_step_mask(grad_input->data(), input.dim(0), mask_);
  }

  // Of the last training forward pass, [B * features] each (tests, the PyTorch oracle).
  [[nodiscard]] const std::vector<double>& keep_probabilities() const { return keep_; }
  [[nodiscard]] const std::vector<Real>& mask() const { return mask_; }
  [[nodiscard]] double drop_rate() const { return drop_rate_; }

 private:
  double drop_rate_;
  std::uint64_t layer_index_;
  bool active_ = false;
  std::vector<double> rates_;
  std::vector<double> keep_;
  std::vector<Real> mask_;
};

}  // namespace homeostat
