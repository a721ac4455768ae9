// Activity monitor: spike counts of every spiking layer, accumulated over a window (a batch, an
// epoch, an evaluation). rate = spikes / (steps x samples x neurons), in [0, 1]; also the
// fraction of neurons that never fired (dead) and that fired in more than 90% of the steps
// (saturated), per neuron over the window.
#pragma once

#include <span>
#include <string>
#include <vector>

#include "metrics/batch_activity.hpp"
#include "network/network.hpp"

namespace homeostat {

struct LayerActivity {
  std::string name;
  double rate = 0.0;
  double dead_fraction = 0.0;
  double saturated_fraction = 0.0;
  double threshold_scale = 1.0;  // mean regulator scale of the layer's thresholds
};

// Fills each entry's threshold_scale from the network's populations (summary() order).
template <typename Real>
void annotate_threshold_scales(std::vector<LayerActivity>& activity, Network<Real>& network);

template <typename Real>
class ActivityMonitor {
 public:
  explicit ActivityMonitor(const Network<Real>& network);
  void reset();
  // Adds the spikes of the last forward pass; last_batch() then holds that pass's rates.
  void observe(const Network<Real>& network);
  // The same from per-neuron rates [1, B, N] of each spiking layer over `steps` steps (rate-based
  // training keeps no spike trains): counts T r are added, exactly as observe() would.
  void observe_rates(const std::vector<const Tensor<Real>*>& rates, std::size_t steps);
  // The same from spike counts per neuron, every spiking layer's in turn (the layout of
  // neuron_spike_sums(), flattened), over `steps` x `samples` (a sharded batch's reduced counts).
  void observe_counts(std::span<const double> counts, std::size_t steps, std::size_t samples);
  [[nodiscard]] const BatchActivity& last_batch() const { return last_batch_; }
  [[nodiscard]] std::vector<LayerActivity> summary() const;
  [[nodiscard]] const std::vector<std::size_t>& layer_indices() const { return layers_; }

  // Raw sums, for checkpoints (exact resume of a partly finished epoch).
  std::vector<std::vector<double>>& neuron_spike_sums() { return neuron_spikes_; }
  std::vector<double>& step_sample_counts() { return step_samples_; }

 private:
  std::vector<std::size_t> layers_;
  std::vector<std::string> names_;
  std::vector<std::vector<double>> neuron_spikes_;  // per layer, per neuron
  std::vector<double> step_samples_;                // per layer: sum of T*B observed
  BatchActivity last_batch_;
};

}  // namespace homeostat
