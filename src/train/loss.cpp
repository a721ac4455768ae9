#include "train/loss.hpp"

#include <algorithm>
#include <cmath>
#include <string>

#include "common/error.hpp"

namespace homeostat {
namespace {

constexpr std::string_view kLossNames[] = {"ce_count", "ce_mean_membrane", "ce_max_membrane",
                                           "mse_count"};

}  // namespace

LossKind parse_loss_kind(std::string_view name) {
  for (std::size_t i = 0; i < std::size(kLossNames); ++i) {
    if (kLossNames[i] == name) return static_cast<LossKind>(i);
  }
  throw ConfigError("unknown loss '" + std::string(name) +
                    "' (valid: ce_count, ce_mean_membrane, ce_max_membrane, mse_count)");
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
LossResult compute_loss(const LossSpec& spec, const Tensor<Real>& output,
                        std::span<const std::int32_t> labels, Tensor<Real>& grad_output) {
  const std::size_t steps = output.dim(0);
  const std::size_t batch = output.dim(1);
  const std::size_t classes = output.stride0() / batch;
  if (labels.size() != batch) throw Error("loss: label count does not match the batch");
  const std::vector<double> logits = loss_logits(spec, output);
  // dL/dlogits, [B, C]
  std::vector<double> grad_logits(batch * classes);
  LossResult result;
  result.predictions.resize(batch);
  double total = 0.0;
  for (std::size_t b = 0; b < batch; ++b) {
    const double* row = &logits[b * classes];
    const auto label = static_cast<std::size_t>(labels[b]);
    if (label >= classes) {
      throw ConfigError("label " + std::to_string(label) + " does not fit the network's " +
                        std::to_string(classes) + " outputs");
    }
    result.predictions[b] = static_cast<std::int32_t>(std::max_element(row, row + classes) - row);
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
  grad_output.resize(output.shape());
  grad_output.zero();
  for (std::size_t t = 0; t < steps; ++t) {
    Real* g = grad_output.data() + t * batch * classes;
    for (std::size_t i = 0; i < batch * classes; ++i) {
      switch (spec.kind) {
        case LossKind::ce_count:
        case LossKind::mse_count:
          g[i] = static_cast<Real>(grad_logits[i]);
          break;
        case LossKind::ce_mean_membrane:
          g[i] = static_cast<Real>(grad_logits[i] / static_cast<double>(steps));
          break;
        case LossKind::ce_max_membrane:
          break;
      }
    }
  }
  if (spec.kind == LossKind::ce_max_membrane) {
    // The gradient goes to the first step that attains the maximum.
    for (std::size_t i = 0; i < batch * classes; ++i) {
      for (std::size_t t = 0; t < steps; ++t) {
        if (static_cast<double>(output[t * batch * classes + i]) == logits[i]) {
          grad_output[t * batch * classes + i] = static_cast<Real>(grad_logits[i]);
          break;
        }
      }
    }
  }
  return result;
}

template LossResult compute_loss(const LossSpec&, const Tensor<float>&,
                                 std::span<const std::int32_t>, Tensor<float>&);
template LossResult compute_loss(const LossSpec&, const Tensor<double>&,
                                 std::span<const std::int32_t>, Tensor<double>&);
template std::vector<double> loss_logits(const LossSpec&, const Tensor<float>&);
template std::vector<double> loss_logits(const LossSpec&, const Tensor<double>&);

}  // namespace homeostat
