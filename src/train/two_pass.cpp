#include "train/two_pass.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "common/error.hpp"

namespace homeostat {
namespace {

// log_softmax of one row.
void log_softmax(const double* z, std::size_t classes, double* out) {
  const double peak = *std::max_element(z, z + classes);
  double norm = 0.0;
  for (std::size_t c = 0; c < classes; ++c) norm += std::exp(z[c] - peak);
  const double log_norm = peak + std::log(norm);
  for (std::size_t c = 0; c < classes; ++c) out[c] = z[c] - log_norm;
}

}  // namespace

template <typename Real>
void stack_twice(const Tensor<Real>& input, Tensor<Real>& stacked) {
  Shape shape = input.shape();
  const std::size_t per_step = input.stride0();
  shape.at(1) *= 2;
  stacked.resize(shape);
  for (std::size_t t = 0; t < input.dim(0); ++t) {
    const Real* from = input.data() + t * per_step;
    Real* to = stacked.data() + 2 * t * per_step;
    std::copy(from, from + per_step, to);
    std::copy(from, from + per_step, to + per_step);
  }
}

double symmetric_kl(std::span<const double> z1, std::span<const double> z2, std::size_t classes,
                    double scale, std::vector<double>* grad1, std::vector<double>* grad2) {
  if (z1.size() != z2.size() || classes == 0 || z1.size() % classes != 0) {
    throw Error("symmetric_kl: logits of different shapes");
  }
  const std::size_t elements = z1.size();
  const double per_element = 1.0 / static_cast<double>(elements);
  std::vector<double> l1(classes), l2(classes);
  double total = 0.0;
  for (std::size_t row = 0; row < elements; row += classes) {
    log_softmax(&z1[row], classes, l1.data());
    log_softmax(&z2[row], classes, l2.data());
    double kl12 = 0.0;  // KL(q1 || q2)
    double kl21 = 0.0;  // KL(q2 || q1)
    for (std::size_t c = 0; c < classes; ++c) {
      kl12 += std::exp(l1[c]) * (l1[c] - l2[c]);
      kl21 += std::exp(l2[c]) * (l2[c] - l1[c]);
    }
    total += 0.5 * (kl12 + kl21) * per_element;
    const double g = 0.5 * per_element * scale;
    for (std::size_t c = 0; c < classes; ++c) {
      const double q1 = std::exp(l1[c]);
      const double q2 = std::exp(l2[c]);
      if (grad1) (*grad1)[row + c] += g * ((q1 - q2) + q1 * ((l1[c] - l2[c]) - kl12));
      if (grad2) (*grad2)[row + c] += g * ((q2 - q1) + q2 * ((l2[c] - l1[c]) - kl21));
    }
  }
  return total;
}

template <typename Real>
TwoPassResult TwoPassObjective<Real>::compute(const LossSpec& spec, double weight,
                                              const Tensor<Real>& output,
                                              std::span<const std::int32_t> labels,
                                              Tensor<Real>& grad_output) {
  const std::size_t steps = output.dim(0);
  const std::size_t batch = labels.size();
  if (output.dim(1) != 2 * batch) {
    throw Error("two-pass loss: the output holds " + std::to_string(output.dim(1)) +
                " samples, not twice the " + std::to_string(batch) + " labels");
  }
  const std::size_t half_step = output.stride0() / 2;
  Shape half_shape = output.shape();
  half_shape[1] = batch;
  for (int k = 0; k < 2; ++k) {
    half_[k].resize(half_shape);
    for (std::size_t t = 0; t < steps; ++t) {
      const Real* from = output.data() + (2 * t + static_cast<std::size_t>(k)) * half_step;
      std::copy(from, from + half_step, half_[k].data() + t * half_step);
    }
  }
  TwoPassResult result;
  LossResult first = compute_loss(spec, half_[0], labels, grad_half_[0]);
  const LossResult second = compute_loss(spec, half_[1], labels, grad_half_[1]);
  result.task_loss = 0.5 * (first.loss + second.loss);
  for (Tensor<Real>& grad : grad_half_) {
    for (Real& g : grad.span()) g *= Real{0.5};
  }
  const std::vector<double> z1 = loss_logits(spec, half_[0]);
  const std::vector<double> z2 = loss_logits(spec, half_[1]);
  for (std::vector<double>& grad : grad_logits_) grad.assign(z1.size(), 0.0);
  result.divergence =
      symmetric_kl(z1, z2, half_step / batch, weight, &grad_logits_[0], &grad_logits_[1]);
  add_logit_gradient(spec, half_[0], z1, grad_logits_[0], grad_half_[0]);
  add_logit_gradient(spec, half_[1], z2, grad_logits_[1], grad_half_[1]);

  grad_output.resize(output.shape());
  for (int k = 0; k < 2; ++k) {
    for (std::size_t t = 0; t < steps; ++t) {
      const Real* from = grad_half_[k].data() + t * half_step;
      std::copy(from, from + half_step,
                grad_output.data() + (2 * t + static_cast<std::size_t>(k)) * half_step);
    }
  }
  result.total.loss = result.task_loss + weight * result.divergence;
  result.total.predictions = std::move(first.predictions);
  return result;
}

template void stack_twice(const Tensor<float>&, Tensor<float>&);
template void stack_twice(const Tensor<double>&, Tensor<double>&);
template class TwoPassObjective<float>;
template class TwoPassObjective<double>;

}  // namespace homeostat
