#include "train/loss.hpp"

#include <algorithm>
#include <cmath>
#include <string>

#include "common/error.hpp"

namespace homeostat {
namespace {

constexpr std::string_view kLossNames[] = {
    "ce_count", "ce_mean_membrane", "ce_max_membrane", "mse_count", "count", "count_plus"};

bool is_count_loss(LossKind kind) {
  return kind == LossKind::count || kind == LossKind::count_plus;
}

// The counting losses (count, count_plus; header comment): loss sum over the batch, gradient into
// grad_output (already sized and zeroed).
template <typename Real>
double counting_loss(const LossSpec& spec, const Tensor<Real>& output,
                     std::span<const std::int32_t> labels, const std::vector<double>& counts,
                     Tensor<Real>& grad_output) {
  const std::size_t steps = output.dim(0);
  const std::size_t batch = output.dim(1);
  const std::size_t classes = output.stride0() / batch;
  const auto t_steps = static_cast<double>(steps);
  std::vector<double> delta(batch * classes);
  std::vector<double> weight(batch * classes, 1.0);
  double total = 0.0;
  double label_counts = 0.0;
  double other_counts = 0.0;
  for (std::size_t b = 0; b < batch; ++b) {
    const auto label = static_cast<std::size_t>(labels[b]);
    for (std::size_t c = 0; c < classes; ++c) {
      const std::size_t i = b * classes + c;
      double count = counts[i];
      const double target = c == label ? spec.desired_count : spec.undesired_count;
      if (c == label) {
        count = std::min(count, spec.desired_count);
        label_counts += count;
      } else {
        count = std::max(count, spec.undesired_count);
        other_counts += count;
      }
      delta[i] = (count - target) / t_steps;
      total += 0.5 * t_steps * delta[i] * delta[i];
    }
  }
  const auto inv_batch = 1.0 / static_cast<double>(batch);
  if (spec.kind == LossKind::count) {
    for (std::size_t t = 0; t < steps; ++t) {
      Real* g = grad_output.data() + t * batch * classes;
      for (std::size_t i = 0; i < batch * classes; ++i)
        g[i] = static_cast<Real>(delta[i] * inv_batch);
    }
    return total;
  }
  // count_plus: class-ratio weighting of the label neurons, then delta / N over actual spikes.
  const double ratio = (other_counts + 1e-5) / (label_counts + 1e-5);
  const double label_weight = std::max(ratio / spec.count_ratio_scale, 1.0);
  std::vector<double> per_spike(batch * classes, 0.0);
  for (std::size_t b = 0; b < batch; ++b) {
    const auto label = static_cast<std::size_t>(labels[b]);
    for (std::size_t c = 0; c < classes; ++c) {
      const std::size_t i = b * classes + c;
      if (counts[i] == 0.0) continue;
      per_spike[i] = (c == label ? label_weight : 1.0) * delta[i] / counts[i] * inv_batch;
    }
  }
  for (std::size_t t = 0; t < steps; ++t) {
    const Real* o = output.data() + t * batch * classes;
    Real* g = grad_output.data() + t * batch * classes;
    for (std::size_t i = 0; i < batch * classes; ++i) {
      g[i] = static_cast<Real>(per_spike[i] * static_cast<double>(o[i]));
    }
  }
  return total;
}

}  // namespace

LossKind parse_loss_kind(std::string_view name) {
  for (std::size_t i = 0; i < std::size(kLossNames); ++i) {
    if (kLossNames[i] == name) return static_cast<LossKind>(i);
  }
  throw ConfigError(
      "unknown loss '" + std::string(name) +
      "' (valid: ce_count, ce_mean_membrane, ce_max_membrane, mse_count, count, count_plus)");
}

std::string_view loss_kind_name(LossKind kind) {
  return kLossNames[static_cast<std::size_t>(kind)];
}

template <typename Real>
std::vector<double> loss_logits(const LossSpec& spec, const Tensor<Real>& output) {
  const std::size_t steps = output.dim(0);
  const std::size_t batch = output.dim(1);
  const std::size_t classes = output.stride0() / batch;
  std::vector<double> logits(batch * classes,
                             spec.kind == LossKind::ce_max_membrane ? -INFINITY : 0.0);
  for (std::size_t t = 0; t < steps; ++t) {
    const Real* o = output.data() + t * batch * classes;
    for (std::size_t i = 0; i < batch * classes; ++i) {
      if (spec.kind == LossKind::ce_max_membrane) {
        logits[i] = std::max(logits[i], static_cast<double>(o[i]));
      } else {
        logits[i] += static_cast<double>(o[i]);
      }
    }
  }
  if (spec.kind == LossKind::ce_mean_membrane) {
    for (double& l : logits) l /= static_cast<double>(steps);
  }
  return logits;
}

template <typename Real>
void add_logit_gradient(const LossSpec& spec, const Tensor<Real>& output,
                        const std::vector<double>& logits, const std::vector<double>& grad_logits,
                        Tensor<Real>& grad_output) {
  const std::size_t steps = output.dim(0);
  const std::size_t per_step = output.stride0();
  if (spec.kind == LossKind::ce_max_membrane) {
    // The gradient goes to the first step that attains the maximum.
    for (std::size_t i = 0; i < per_step; ++i) {
      for (std::size_t t = 0; t < steps; ++t) {
        if (static_cast<double>(output[t * per_step + i]) == logits[i]) {
          grad_output[t * per_step + i] += static_cast<Real>(grad_logits[i]);
          break;
        }
      }
    }
    return;
  }
  const double scale =
      spec.kind == LossKind::ce_mean_membrane ? 1.0 / static_cast<double>(steps) : 1.0;
  for (std::size_t t = 0; t < steps; ++t) {
    Real* g = grad_output.data() + t * per_step;
    for (std::size_t i = 0; i < per_step; ++i) g[i] += static_cast<Real>(grad_logits[i] * scale);
  }
}

template <typename Real>
LossResult compute_loss(const LossSpec& spec, const Tensor<Real>& output,
                        std::span<const std::int32_t> labels, Tensor<Real>& grad_output) {
  const std::size_t steps = output.dim(0);
  const std::size_t batch = output.dim(1);
  const std::size_t classes = output.stride0() / batch;
  if (labels.size() != batch) throw Error("loss: label count does not match the batch");
  const std::vector<double> logits = loss_logits(spec, output);
  LossResult result;
  result.predictions.resize(batch);
  for (std::size_t b = 0; b < batch; ++b) {
    const double* row = &logits[b * classes];
    const auto label = static_cast<std::size_t>(labels[b]);
    if (label >= classes) {
      throw ConfigError("label " + std::to_string(label) + " does not fit the network's " +
                        std::to_string(classes) + " outputs");
    }
    result.predictions[b] = static_cast<std::int32_t>(std::max_element(row, row + classes) - row);
  }
  grad_output.resize(output.shape());
  grad_output.zero();
  if (is_count_loss(spec.kind)) {
    result.loss =
        counting_loss(spec, output, labels, logits, grad_output) / static_cast<double>(batch);
    return result;
  }
  // dL/dlogits, [B, C]
  std::vector<double> grad_logits(batch * classes);
  double total = 0.0;
  for (std::size_t b = 0; b < batch; ++b) {
    const double* row = &logits[b * classes];
    const auto label = static_cast<std::size_t>(labels[b]);
    double* g = &grad_logits[b * classes];
    if (spec.kind == LossKind::mse_count) {
      for (std::size_t c = 0; c < classes; ++c) {
        const double target =
            static_cast<double>(steps) * (c == label ? spec.on_rate : spec.off_rate);
        const double diff = row[c] - target;
        total += diff * diff / static_cast<double>(classes);
        g[c] = 2.0 * diff / static_cast<double>(classes * batch);
      }
    } else {
      const double peak = *std::max_element(row, row + classes);
      double norm = 0.0;
      for (std::size_t c = 0; c < classes; ++c) norm += std::exp(row[c] - peak);
      total += std::log(norm) + peak - row[label];
      for (std::size_t c = 0; c < classes; ++c) {
        const double softmax = std::exp(row[c] - peak) / norm;
        g[c] = (softmax - (c == label ? 1.0 : 0.0)) / static_cast<double>(batch);
      }
    }
  }
  result.loss = total / static_cast<double>(batch);
  // Chain the logit gradient back to every step of the output.
  add_logit_gradient(spec, output, logits, grad_logits, grad_output);
  return result;
}

template LossResult compute_loss(const LossSpec&, const Tensor<float>&,
                                 std::span<const std::int32_t>, Tensor<float>&);
template LossResult compute_loss(const LossSpec&, const Tensor<double>&,
                                 std::span<const std::int32_t>, Tensor<double>&);
template std::vector<double> loss_logits(const LossSpec&, const Tensor<float>&);
template std::vector<double> loss_logits(const LossSpec&, const Tensor<double>&);
template void add_logit_gradient(const LossSpec&, const Tensor<float>&, const std::vector<double>&,
                                 const std::vector<double>&, Tensor<float>&);
template void add_logit_gradient(const LossSpec&, const Tensor<double>&, const std::vector<double>&,
                                 const std::vector<double>&, Tensor<double>&);

}  // namespace homeostat
