// Losses on the network output [T, B, C] (spikes or readout membranes), averaged over the batch:
//   ce_count          cross-entropy on spike counts  logits_c = sum_t o_t,c
//   ce_mean_membrane  cross-entropy on the time-mean  logits_c = (1/T) sum_t o_t,c
//   ce_max_membrane   cross-entropy on the time-max   logits_c = max_t o_t,c
//   mse_count         (1/(B C)) sum (sum_t o_t,c - T r_c)^2, with r_c = on_rate for the label and
//                     off_rate for the others (target rates, snnTorch's mse_count_loss)
// The prediction is argmax of the logits (spike counts for mse_count); ties go to the lowest class.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "tensor/tensor.hpp"

namespace homeostat {

enum class LossKind { ce_count, ce_mean_membrane, ce_max_membrane, mse_count };
LossKind parse_loss_kind(std::string_view name);
std::string_view loss_kind_name(LossKind kind);

struct LossSpec {
  LossKind kind = LossKind::ce_count;
  double on_rate = 0.8;   // mse_count
  double off_rate = 0.2;  // mse_count
};

struct LossResult {
  double loss = 0.0;                      // batch mean
  std::vector<std::int32_t> predictions;  // [B]
};

// Computes the loss and assigns dL/d(output) into `grad_output` (resized to output's shape).
template <typename Real>
LossResult compute_loss(const LossSpec& spec, const Tensor<Real>& output,
                        std::span<const std::int32_t> labels, Tensor<Real>& grad_output);

// Logits per sample [B, C] as the loss sees them (for evaluation without gradients).
template <typename Real>
std::vector<double> loss_logits(const LossSpec& spec, const Tensor<Real>& output);

}  // namespace homeostat
