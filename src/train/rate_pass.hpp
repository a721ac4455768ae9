// Rate-based backpropagation (Yu et al., NeurIPS 2024; papers.md 5c), for feed-forward and conv
// networks (dense, conv2d, pooling, dropout, lif, readout layers).
//
// 1. Spike pass, no gradients: the network runs through t = 0..T-1 in chunks of at most 4 steps.
//    Each LIF layer keeps only its [B, N] state and accumulates, per neuron e,
//      rate  r_e    = (1/T) sum_t z_t
//      elig  e_e    = (1/T) sum_t eps_t sg_t,   sg_t = f'(v_t - theta) (the surrogate slope),
//    where eps_t = dv_t/dc is the membrane's sensitivity to a constant input current c, by the
//    neuron's reset (lif.hpp: v_t = beta v_{t-1} (1 - [zero] z_{t-1}) + I_t - [subtract] theta
//    z_{t-1}):
//      eps_0 = 1,
//      eps_t = 1 + eps_{t-1} (beta (1 - [zero] z_{t-1})
//                             - [not detached] ([subtract] theta + [zero] beta v_{t-1}) sg_{t-1})
//    i.e. the paper's three variants: subtract + detach_reset (eps_t = 1 + beta eps_{t-1}),
//    subtract without detach (1 + eps (beta - theta sg)), zero reset ("hard", 1 + eps (beta (1 - z)
//    - beta v sg)); reset "none" gives 1 + beta eps_{t-1} as well. With smooth neurons and no
//    detach, e is exactly dr/dc for a constant current (tests check that).
//    A readout (leaky integrator, no spikes) records its time-mean membrane m with
//    e = (1/T) sum_t eps_t (eps_t = 1 + beta eps_{t-1}), and for ce_max_membrane its time-max
//    with the eps of the step where the max fell.
// 2. Rate pass, one step: every other layer runs once on the time-mean of its input (the first
//    layer on the time-mean of the encoded input, x_bar), and each neuron layer outputs
//      y = r + e (c - c_0)         (value r; dy/dc = e; c_0 = c at the current parameters)
//    so backward gives dL/dc = e dL/dr, and a dense layer dL/dW = dL/dc x_bar^T.
// The loss sees the last layer's time summary as a [1, B, C] tensor: sums (T y) for ce_count and
// mse_count (whose targets are scaled by T), the mean y for ce_mean_membrane, the max for
// ce_max_membrane (readout only), so the loss value is the BPTT loss of the same spikes and the
// gradient has BPTT's scale (a loss on spike counts has dL/dr = T dL/dcount; the reference code's
// 1/T factor belongs to its loss on time-averaged outputs).
// Everything kept between the passes is [B, N] per layer: backward memory and time do not grow
// with T (backward_buffer_bytes()).
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <vector>

#include "homeostasis/registry.hpp"
#include "network/layer_spec.hpp"
#include "network/network.hpp"
#include "train/loss.hpp"

namespace homeostat {

// Why a config cannot train with train.method = "rate" (empty: it can): a layer kind or neuron
// feature the method does not cover, ce_max_membrane without a readout last, or a
// constraint-channel regulator. The config reader turns it into a ConfigError at train.method.
std::string rate_training_obstacle(const std::vector<LayerSpec>& layers, LossKind loss,
                                   const std::vector<RegulatorSpec>& regulators);

template <typename Real>
class RatePass {
 public:
  // ConfigError if a layer cannot be trained this way (recurrent, tebn, adaptive or refractory
  // neurons, learnable thresholds or decays) or the loss does not fit the last layer.
  RatePass(Network<Real>& network, const LossSpec& loss);

  // The spike pass runs time in chunks of at most kChunkSteps steps (one GEMM and one parallel
  // region per layer and chunk instead of per step); its workspace is [min(T, K), B, ...].
  static constexpr std::size_t kChunkSteps = 4;
  // Fills `chunk` with the network input of steps [t_begin, t_begin + count), [count, B, ...].
  using ChunkInput =
      std::function<void(std::size_t t_begin, std::size_t count, Tensor<Real>& chunk)>;
  // The spike pass over `steps` steps of a batch of `batch` samples.
  void spike_pass(std::size_t steps, std::size_t batch, const ChunkInput& input,
                  const RunContext& context);
  // The same on a whole time-major input [T, B, features...] (tests, tools).
  void spike_pass(const Tensor<Real>& input, const RunContext& context);

  // The rate-pass forward with the current parameters. anchor = true sets c_0 = c (so every
  // neuron layer outputs exactly its rate); false keeps the c_0 of the last anchored call, so
  // the loss becomes a smooth function of the parameters (the finite-difference checks).
  void rate_forward(bool anchor = true);
  // The last layer's time summary [1, B, C] and the loss spec to apply to it.
  [[nodiscard]] const Tensor<Real>& loss_output() const { return summary_; }
  [[nodiscard]] const LossSpec& loss_spec() const { return loss_; }
  // Backpropagates dL/d(loss_output) through the rate pass; accumulates parameter gradients.
  // The hook adds a per-neuron dL/dz_t, shared by every step and sample (Network::backward).
  void backward(const Tensor<Real>& grad_summary,
                const typename Network<Real>::SpikeGradientHook& hook = {});

  [[nodiscard]] std::size_t steps() const { return steps_; }
  // Milliseconds of the last spike pass, and of the last rate_forward + backward (the part that
  // does not grow with T).
  [[nodiscard]] double spike_pass_ms() const { return spike_pass_ms_; }
  [[nodiscard]] double rate_pass_ms() const { return rate_pass_ms_; }
  // Per-layer [1, B, N] rates and eligibilities (neuron and readout layers; empty for others).
  [[nodiscard]] const Tensor<Real>& rates(std::size_t layer) const {
    return layers_.at(layer).rate;
  }
  [[nodiscard]] const Tensor<Real>& eligibilities(std::size_t layer) const {
    return layers_.at(layer).elig;
  }
  // Rates of the spiking layers (Network::spiking_layers() order), for the activity monitor.
  [[nodiscard]] std::vector<const Tensor<Real>*> spiking_rates() const;
  // Bytes of the buffers that the backward uses: everything kept from the spike pass (rates,
  // eligibilities, x_bar, the [B, N] neuron state) and the rate pass's activations and
  // gradients; independent of T.
  [[nodiscard]] std::size_t backward_buffer_bytes() const;
  // Bytes of the spike pass's chunk buffers (input and layer outputs of up to kChunkSteps
  // steps): the same for every T >= kChunkSteps.
  [[nodiscard]] std::size_t workspace_bytes() const;

 private:
  enum class Role { neuron, readout, other };
  struct LayerState {
    Role role = Role::other;
    Tensor<Real> step_output;  // [count, B, ...] output of the current chunk (spike pass)
    // Neuron/readout state over the spike pass, [B * N] each.
    std::vector<Real> v, z, eps, slope;
    std::vector<Real> theta, beta;  // [N] neuron constants of the pass
    Tensor<Real> rate;              // [1, B, N] r (readout: mean or max membrane)
    Tensor<Real> elig;              // [1, B, N] e
    Tensor<Real> anchor;            // [1, B, N] c_0
    Tensor<Real> value;             // [1, B, ...] rate-pass output
    Tensor<Real> grad;              // [1, B, ...] dL/d(value)
  };
  void neuron_chunk(std::size_t index, const Tensor<Real>& current, std::size_t count);
  void readout_chunk(std::size_t index, const Tensor<Real>& current, std::size_t t_begin,
                     std::size_t count);

  Network<Real>& network_;
  LossSpec loss_;           // the spec to apply to summary_ (mse_count targets scaled by T)
  LossSpec config_loss_;    // as configured
  Real summary_scale_ = 1;  // T for loss on sums, 1 otherwise
  bool readout_max_ = false;
  std::vector<LayerState> layers_;
  RunContext context_;
  std::size_t steps_ = 0;
  std::size_t batch_ = 0;
  Tensor<Real> step_input_;  // [count, B, features] input of the current chunk
  Tensor<Real> mean_input_;  // [1, B, features] x_bar
  Tensor<Real> summary_;     // [1, B, C]
  double spike_pass_ms_ = 0.0;
  double rate_pass_ms_ = 0.0;
};

}  // namespace homeostat
