// The Regulator interface: one stabilizer, attached to one or more layers, acting through one or
// more channels (design notes, "Regulators: one interface, four channels"):
//   loss        penalty(): adds a term to the training loss; add_spike_gradient(): its
//               gradient with respect to a layer's spikes, added during the backward pass
//   threshold   after_forward(): scales thresholds outside the gradient (AHSAR, adaptive)
//   weights     after_update(): transforms weights outside the optimizer (scaling, bounds, sleep)
//   constraint  attach(): restricts spike generation itself (refractory, firing cap, k-WTA)
// Regulators never see threads, batching or BLAS; the runner (trainer or simulator) calls them.
// A regulator's state is saved in checkpoints (save_state / load_state) so resume is exact.
#pragma once

#include <cstddef>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "metrics/batch_activity.hpp"
#include "network/network.hpp"

namespace homeostat {

// Where the runner stands. epoch and batch are 0-based.
struct TrainingClock {
  std::size_t epoch = 0;
  std::size_t batch = 0;
  std::size_t batches_per_epoch = 1;
  // Fractional epochs since the start of training.
  [[nodiscard]] double progress() const {
    return static_cast<double>(epoch) +
           static_cast<double>(batch) / static_cast<double>(batches_per_epoch);
  }
};

// What the slow timescale sees at the end of an epoch.
struct EpochSignals {
  std::size_t epoch = 0;            // 0-based epoch just finished
  double progress_accuracy = 0.0;   // validation accuracy (training accuracy without one)
  std::vector<double> layer_rates;  // per spiking layer (BatchActivity order), whole epoch
};

enum class RegulatorChannel { loss, threshold, weights, constraint };
std::string_view channel_name(RegulatorChannel channel);

template <typename Real>
class Regulator {
 public:
  Regulator(std::string kind, std::vector<std::size_t> layers)
      : kind_(std::move(kind)), layers_(std::move(layers)) {}
  virtual ~Regulator() = default;
  Regulator(const Regulator&) = delete;
  Regulator& operator=(const Regulator&) = delete;

  [[nodiscard]] const std::string& kind() const { return kind_; }
  // Network indices of the layers it regulates.
  [[nodiscard]] const std::vector<std::size_t>& layers() const { return layers_; }
  [[nodiscard]] virtual std::vector<RegulatorChannel> channels() const = 0;

  // Constraint channel: called once on the built network (training and evaluation alike).
  virtual void attach(Network<Real>& /*network*/) {}
  // Loss channel: the penalty for the last training forward pass; prepares its gradient.
  virtual double penalty(const BatchActivity& /*activity*/, const TrainingClock& /*clock*/) {
    return 0.0;
  }
  // Loss channel: adds d penalty / d z_{t,b,j} of network layer `layer` into `per_neuron` [N].
  // A rate penalty's gradient is the same at every step and sample, so it travels as one value
  // per neuron that the LIF backward kernel adds in its own pass (no extra sweep over [T, B, N]).
  virtual void add_spike_gradient(std::size_t /*layer*/, std::span<Real> /*per_neuron*/) const {}
  // Threshold channel: after each training forward pass (the new scales act from the next one).
  virtual void after_forward(Network<Real>& /*network*/, const BatchActivity& /*activity*/,
                             const TrainingClock& /*clock*/) {}
  // Weight channel: after each optimizer step.
  virtual void after_update(Network<Real>& /*network*/, const BatchActivity& /*activity*/,
                            const TrainingClock& /*clock*/) {}
  // Slow timescale: after each epoch's evaluation.
  virtual void end_epoch(Network<Real>& /*network*/, const EpochSignals& /*signals*/) {}

  // Target band [low, high] of a regulated layer, when the regulator has one (alarms, reports).
  [[nodiscard]] virtual std::optional<std::pair<double, double>> band() const {
    return std::nullopt;
  }
  // State for checkpoints; load_state also re-applies it to the network.
  [[nodiscard]] virtual nlohmann::json save_state() const { return nullptr; }
  virtual void load_state(const nlohmann::json& /*state*/, Network<Real>& /*network*/) {}
  // A few figures for metrics.jsonl (e.g. AHSAR's global gain).
  [[nodiscard]] virtual nlohmann::json describe() const { return nlohmann::json::object(); }

 private:
  std::string kind_;
  std::vector<std::size_t> layers_;
};

template <typename Real>
using RegulatorPtr = std::unique_ptr<Regulator<Real>>;

}  // namespace homeostat
