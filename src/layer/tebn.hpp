// Temporal effective batch normalization (TEBN; Duan et al., NeurIPS 2022). Per channel c the
// statistics are taken jointly over (T, B, H, W) for {C, H, W} features, or over (T, B) for {N}
// features (channels = N), and every step t has its own learnable scale p_t:
//   y_t = p_t * (gamma_c * (x_t - mu_c) / sqrt(sigma_c^2 + eps) + beta_c)
// Training: batch mean and biased variance, with the exact backward through mu and sigma; the
// running statistics move by `momentum` towards the batch mean and the UNBIASED batch variance
// (PyTorch BatchNorm's convention; initial mean 0, variance 1). Evaluation: running statistics,
// which backward then treats as constants.
// gamma init 1, beta init 0, p_t init 1. The layer is built for T = steps; any other T is a
// ConfigError. Channels are reduced one per thread in a fixed order (statistics in double), and
// the step scales' gradient is summed over channels serially: bitwise reproducible.
#pragma once

#include "layer/layer.hpp"

namespace homeostat {

template <typename Real>
class TebnLayer final : public Layer<Real> {
 public:
  // ConfigError unless input_shape is {N} or {C, H, W}, non-empty, and steps > 0.
  TebnLayer(std::string name, const Shape& input_shape, std::size_t steps, double epsilon = 1e-5,
            double momentum = 0.1);

  [[nodiscard]] std::string_view kind() const override { return "tebn"; }
  void forward(const Tensor<Real>& input, Tensor<Real>& output, const RunContext& context) override;
  void backward(const Tensor<Real>& input, const Tensor<Real>& output,
                const Tensor<Real>& grad_output, Tensor<Real>* grad_input) override;
  std::vector<Parameter<Real>*> parameters() override { return {&gamma_, &beta_, &step_weight_}; }
  // The running statistics travel with checkpoints as "<name>.running_mean" / ".running_var".
  std::vector<StateBuffer<Real>> state_buffers() override {
    return {{this->name() + ".running_mean", &running_mean_},
            {this->name() + ".running_var", &running_var_}};
  }

  [[nodiscard]] const std::vector<Real>& running_mean() const { return running_mean_; }
  [[nodiscard]] const std::vector<Real>& running_var() const { return running_var_; }

 private:
  std::size_t channels_;
  std::size_t spatial_;  // H * W, or 1 for {N} features
  std::size_t steps_;
  double epsilon_;
  double momentum_;
  Parameter<Real> gamma_;        // [C]
  Parameter<Real> beta_;         // [C]
  Parameter<Real> step_weight_;  // [T]
  std::vector<Real> running_mean_;
  std::vector<Real> running_var_;
  // What the last forward normalized with (batch or running statistics), for backward.
  bool used_batch_statistics_ = false;
  std::vector<Real> mean_;
  std::vector<Real> inverse_std_;
  // Per channel and step: sum of dL/dy and of dL/dy * x_hat over (B, H, W), [C, T].
  std::vector<double> step_grad_sums_;
  std::vector<double> step_grad_xhat_sums_;
};

}  // namespace homeostat
