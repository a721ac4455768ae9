#include "layer/tebn.hpp"

#include <cmath>

#include "common/error.hpp"

namespace homeostat {
namespace {

std::size_t tebn_channels(const std::string& name, const Shape& input_shape, std::size_t steps) {
  if (input_shape.size() != 1 && input_shape.size() != 3) {
    throw ConfigError("tebn layer '" + name +
                      "' needs {N} or {channels, height, width} input, got " +
                      shape_string(input_shape));
  }
  if (shape_size(input_shape) == 0 || steps == 0) {
    throw ConfigError("tebn layer '" + name + "' needs a non-empty input and at least one step");
  }
  return input_shape[0];
}

}  // namespace

template <typename Real>
TebnLayer<Real>::TebnLayer(std::string name, const Shape& input_shape, std::size_t steps,
                           double epsilon, double momentum)
    : Layer<Real>(name, input_shape, input_shape),
      channels_(tebn_channels(name, input_shape, steps)),
      spatial_(shape_size(input_shape) / channels_),
      steps_(steps),
      epsilon_(epsilon),
      momentum_(momentum),
      gamma_(name + ".gamma", {channels_}, false),
      beta_(name + ".beta", {channels_}, false),
      step_weight_(name + ".step_weight", {steps}, false),
      running_mean_(channels_, Real{0}),
      running_var_(channels_, Real{1}),
      mean_(channels_),
      inverse_std_(channels_),
      step_grad_sums_(channels_ * steps),
      step_grad_xhat_sums_(channels_ * steps) {
  gamma_.value.fill(Real{1});
  step_weight_.value.fill(Real{1});
}

template <typename Real>
void TebnLayer<Real>::forward(const Tensor<Real>& input, Tensor<Real>& output,
                              const RunContext& context) {
  if (input.rank() < 2 || input.dim(0) != steps_) {
    throw ConfigError("tebn layer '" + this->name() + "' was built for " + std::to_string(steps_) +
                      " time steps but got input " + shape_string(input.shape()));
  }
  const std::size_t batch = input.dim(1);
  const std::size_t sample_size = channels_ * spatial_;
  if (input.size() != steps_ * batch * sample_size) {
    throw ConfigError("tebn layer '" + this->name() + "' expects [T, B] x " +
                      shape_string(this->input_shape()) + " input, got " +
                      shape_string(input.shape()));
  }
  output.resize(input.shape());
  used_batch_statistics_ = context.training;
  const std::size_t count = steps_ * batch * spatial_;  // elements per channel
  const Real* x = input.data();

  if (used_batch_statistics_) {
    // Bessel's correction for the running variance; undefined for a single element.
    const double unbias =
        count > 1 ? static_cast<double>(count) / static_cast<double>(count - 1) : 1.0;
#pragma omp parallel for schedule(static)
    for (std::size_t c = 0; c < channels_; ++c) {
      // Two passes (mean, then centred squares) avoid cancellation in the variance.
      double sum = 0.0;
      for (std::size_t row = 0; row < steps_ * batch; ++row) {
        const Real* values = x + row * sample_size + c * spatial_;
        for (std::size_t s = 0; s < spatial_; ++s) sum += static_cast<double>(values[s]);
      }
      const double mean = sum / static_cast<double>(count);
      double squares = 0.0;
      for (std::size_t row = 0; row < steps_ * batch; ++row) {
        const Real* values = x + row * sample_size + c * spatial_;
        for (std::size_t s = 0; s < spatial_; ++s) {
          const double centred = static_cast<double>(values[s]) - mean;
          squares += centred * centred;
        }
      }
      const double variance = squares / static_cast<double>(count);
      mean_[c] = static_cast<Real>(mean);
      inverse_std_[c] = static_cast<Real>(1.0 / std::sqrt(variance + epsilon_));
      running_mean_[c] = static_cast<Real>((1.0 - momentum_) * running_mean_[c] + momentum_ * mean);
      running_var_[c] =
          static_cast<Real>((1.0 - momentum_) * running_var_[c] + momentum_ * variance * unbias);
    }
  } else {
    for (std::size_t c = 0; c < channels_; ++c) {
      mean_[c] = running_mean_[c];
      inverse_std_[c] =
          static_cast<Real>(1.0 / std::sqrt(static_cast<double>(running_var_[c]) + epsilon_));
    }
  }

  const Real* gamma = gamma_.value.data();
  const Real* beta = beta_.value.data();
  const Real* step_weight = step_weight_.value.data();
#pragma omp parallel for schedule(static)
  for (std::size_t row = 0; row < steps_ * batch; ++row) {
    const Real p = step_weight[row / batch];
    const Real* in = x + row * sample_size;
    Real* out = output.data() + row * sample_size;
    for (std::size_t c = 0; c < channels_; ++c) {
      for (std::size_t s = 0; s < spatial_; ++s) {
        const std::size_t e = c * spatial_ + s;
        out[e] = p * (gamma[c] * (in[e] - mean_[c]) * inverse_std_[c] + beta[c]);
      }
    }
  }
}

template <typename Real>
void TebnLayer<Real>::backward(const Tensor<Real>& input, const Tensor<Real>&,
                               const Tensor<Real>& grad_output, Tensor<Real>* grad_input) {
  const std::size_t batch = input.dim(1);
  const std::size_t sample_size = channels_ * spatial_;
  const double count = static_cast<double>(steps_ * batch * spatial_);
  const Real* x = input.data();
  const Real* dy = grad_output.data();
  const Real* gamma = gamma_.value.data();
  const Real* beta = beta_.value.data();
  const Real* step_weight = step_weight_.value.data();
  if (grad_input) grad_input->resize(input.shape());
  Real* dx = grad_input ? grad_input->data() : nullptr;

  // With x_hat = (x - mu) / sigma and g = dL/dy:
  //   dL/dbeta_c = sum_t p_t G_ct,  dL/dgamma_c = sum_t p_t X_ct,  dL/dp_t = sum_c gamma_c X_ct +
  //   beta_c G_ct, where G_ct = sum_{b,s} g and X_ct = sum_{b,s} g x_hat. Through the batch
  //   statistics, with d = p_t gamma_c g = dL/dx_hat:
  //   dx = (d - mean(d) - x_hat mean(d x_hat)) / sigma,
  //   mean(d) = gamma_c dL/dbeta_c / M,  mean(d x_hat) = gamma_c dL/dgamma_c / M.
#pragma omp parallel for schedule(static)
  for (std::size_t c = 0; c < channels_; ++c) {
    const Real mean = mean_[c];
    const Real inverse_std = inverse_std_[c];
    double* grad_sums = step_grad_sums_.data() + c * steps_;
    double* grad_xhat_sums = step_grad_xhat_sums_.data() + c * steps_;
    double beta_grad = 0.0;
    double gamma_grad = 0.0;
    for (std::size_t t = 0; t < steps_; ++t) {
      double grad_sum = 0.0;
      double grad_xhat_sum = 0.0;
      for (std::size_t b = 0; b < batch; ++b) {
        const std::size_t offset = (t * batch + b) * sample_size + c * spatial_;
        for (std::size_t s = 0; s < spatial_; ++s) {
          const double g = static_cast<double>(dy[offset + s]);
          const double x_hat = static_cast<double>((x[offset + s] - mean) * inverse_std);
          grad_sum += g;
          grad_xhat_sum += g * x_hat;
        }
      }
      grad_sums[t] = grad_sum;
      grad_xhat_sums[t] = grad_xhat_sum;
      beta_grad += static_cast<double>(step_weight[t]) * grad_sum;
      gamma_grad += static_cast<double>(step_weight[t]) * grad_xhat_sum;
    }
    beta_.grad[c] += static_cast<Real>(beta_grad);
    gamma_.grad[c] += static_cast<Real>(gamma_grad);
    if (!dx) continue;

    const double gamma_c = static_cast<double>(gamma[c]);
    // The statistics' terms vanish when they were constants (evaluation).
    const double mean_d = used_batch_statistics_ ? gamma_c * beta_grad / count : 0.0;
    const double mean_d_xhat = used_batch_statistics_ ? gamma_c * gamma_grad / count : 0.0;
    for (std::size_t t = 0; t < steps_; ++t) {
      const double scale = static_cast<double>(step_weight[t]) * gamma_c;
      for (std::size_t b = 0; b < batch; ++b) {
        const std::size_t offset = (t * batch + b) * sample_size + c * spatial_;
        for (std::size_t s = 0; s < spatial_; ++s) {
          const double x_hat = static_cast<double>((x[offset + s] - mean) * inverse_std);
          const double d = scale * static_cast<double>(dy[offset + s]);
          dx[offset + s] = static_cast<Real>((d - mean_d - x_hat * mean_d_xhat) *
                                             static_cast<double>(inverse_std));
        }
      }
    }
  }

  // The step scales mix all channels: summed serially in channel order.
  for (std::size_t t = 0; t < steps_; ++t) {
    double step_grad = 0.0;
    for (std::size_t c = 0; c < channels_; ++c) {
      step_grad += static_cast<double>(gamma[c]) * step_grad_xhat_sums_[c * steps_ + t] +
                   static_cast<double>(beta[c]) * step_grad_sums_[c * steps_ + t];
    }
    step_weight_.grad[t] += static_cast<Real>(step_grad);
  }
}

template class TebnLayer<float>;
template class TebnLayer<double>;

}  // namespace homeostat
