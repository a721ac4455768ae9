// Losses on the network output [T, B, C] (spikes or readout membranes), averaged over the batch:
//   ce_count          cross-entropy on spike counts  logits_c = sum_t o_t,c
//   ce_mean_membrane  cross-entropy on the time-mean  logits_c = (1/T) sum_t o_t,c
//   ce_max_membrane   cross-entropy on the time-max   logits_c = max_t o_t,c
//   mse_count         (1/(B C)) sum (sum_t o_t,c - T r_c)^2, with r_c = on_rate for the label and
//                     off_rate for the others (target rates, snnTorch's mse_count_loss)
//   count             the counting loss of time-based training (papers.md 5d, Zhu et al. 2023,
//   count_plus        `count` and `count+` in zhuyaoyu/SNN-temporal-training-losses):
//     N_bc = sum_t o_t,b,c, target N^_bc = desired_count for the label, undesired_count else;
//     the count is clipped first: a label count above desired_count becomes desired_count, another
//     count below undesired_count becomes undesired_count (no error beyond the targets).
//     delta_bc = (N_bc - N^_bc) / T,   L = (1/B) sum_b 1/2 sum_t sum_c delta_bc^2
//                                        = (1/B) sum_b (T/2) sum_c delta_bc^2
//     (the reference repeats delta over the T steps before squaring). So dL/dN_bc = delta_bc / B.
//     count:      dL/do_t,b,c = delta_bc / B at every step (the exact derivative).
//     count_plus: the enhanced counting loss keeps L and replaces the gradient by the time-based
//                 one that spreads the error over the neuron's actual spikes:
//                   g_t,b,c = w_bc * delta_bc * o_t,b,c / N_bc / B   (0 where N_bc = 0),
//                 so sum_t g_t,b,c = w_bc dL/dN_bc. The class-ratio weighting: w = 1 except for
//                 the label neuron, w = max(ratio / count_ratio_scale, 1) with the batch-wide
//                 ratio = (sum of clipped non-label counts + 1e-5) / (sum of clipped label
//                 counts + 1e-5); count_ratio_scale = 10 in the reference. This g is not the
//                 derivative of L (only its per-neuron time sum is).
// The prediction is argmax of the logits (spike counts for mse_count); ties go to the lowest class.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "tensor/tensor.hpp"

namespace homeostat {

enum class LossKind { ce_count, ce_mean_membrane, ce_max_membrane, mse_count, count, count_plus };
LossKind parse_loss_kind(std::string_view name);
std::string_view loss_kind_name(LossKind kind);

struct LossSpec {
  LossKind kind = LossKind::ce_count;
  double on_rate = 0.8;             // mse_count
  double off_rate = 0.2;            // mse_count
  double desired_count = 10.0;      // count, count_plus: spikes wanted from the label neuron
  double undesired_count = 1.0;     // count, count_plus: spikes allowed from the others
  double count_ratio_scale = 10.0;  // count_plus: label weight max(ratio / this, 1)
};

struct LossResult {
  double loss = 0.0;                      // batch mean
  std::vector<std::int32_t> predictions;  // [B]
};

// Computes the loss and assigns dL/d(output) into `grad_output` (resized to output's shape).
template <typename Real>
LossResult compute_loss(const LossSpec& spec, const Tensor<Real>& output,
                        std::span<const std::int32_t> labels, Tensor<Real>& grad_output);

// Logits per sample [B, C] as the loss sees them (for evaluation without gradients); spike
// counts for mse_count, count and count_plus.
template <typename Real>
std::vector<double> loss_logits(const LossSpec& spec, const Tensor<Real>& output);

// ADDS the gradient of a function of the logits, dF/dlogits [B, C], to grad_output [T, B, C]
// through the logits of `spec` (counts and sums: every step; mean: 1/T; max: the first step that
// attains the maximum). `logits` are loss_logits(spec, output).
template <typename Real>
void add_logit_gradient(const LossSpec& spec, const Tensor<Real>& output,
                        const std::vector<double>& logits, const std::vector<double>& grad_logits,
                        Tensor<Real>& grad_output);

}  // namespace homeostat
