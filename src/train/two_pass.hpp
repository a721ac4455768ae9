// The two-pass objective of LTMD (papers.md 5b; sq117/LTMD `trialnew.py`, R-Drop-like): the batch
// goes through the network twice with different dropout masks, giving outputs y1 and y2, and
//   L = 1/2 (L_task(y1) + L_task(y2)) + w * S(z1, z2),
//   S = 1/2 (KL(q2 || q1) + KL(q1 || q2)),   q_k = softmax(z_k),  z_k = loss_logits(y_k),
// where each KL is averaged over the B * C elements, as F.kl_div(log q1, q2, reduction='none')
// .mean() is in the reference (so S is 1/C of the per-sample KL), and w = 0.5 there
// (train.two_pass_weight). L_task is train.loss (batch mean); its gradient is its own (the
// time-based one for count_plus). The logits are the loss's (spike counts for ce_count, count,
// count_plus, mse_count; time-mean or time-max membranes).
// The two passes are ONE forward pass over the batch stacked twice, [T, 2B, ...] (as LTMD does
// with torch.cat): every dropout layer then draws different masks for the two copies (its
// counter runs over the 2B samples), and moderate dropout's keep probabilities see both copies.
// dS/dz1 = (1 / (2 B C)) [(q1 - q2) + q1 .* (a - sum_c q1_c a_c)], a = log q1 - log q2;
// dS/dz2 likewise with 1 and 2 swapped.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "tensor/tensor.hpp"
#include "train/loss.hpp"

namespace homeostat {

// [T, B, F...] -> [T, 2B, F...]: each step's B samples, then the same B samples again.
template <typename Real>
void stack_twice(const Tensor<Real>& input, Tensor<Real>& stacked);

// S of the header for logits z1, z2 [B, C]; adds dS/dz1 and dS/dz2 scaled by `scale` into
// grad1 and grad2 when they are non-null (sized B * C).
double symmetric_kl(std::span<const double> z1, std::span<const double> z2, std::size_t classes,
                    double scale = 1.0, std::vector<double>* grad1 = nullptr,
                    std::vector<double>* grad2 = nullptr);

struct TwoPassResult {
  LossResult total;         // L, and the predictions of the first pass
  double task_loss = 0.0;   // 1/2 (L_task(y1) + L_task(y2))
  double divergence = 0.0;  // S
};

// Keeps the per-pass buffers between batches (no allocation once sized).
template <typename Real>
class TwoPassObjective {
 public:
  // `output` [T, 2B, C] from a stacked input, `labels` [B]; assigns dL/d(output) into grad_output.
  TwoPassResult compute(const LossSpec& spec, double weight, const Tensor<Real>& output,
                        std::span<const std::int32_t> labels, Tensor<Real>& grad_output);

 private:
  Tensor<Real> half_[2];
  Tensor<Real> grad_half_[2];
  std::vector<double> grad_logits_[2];
};

}  // namespace homeostat
