// The regulators of one network, driven by a runner (the BPTT trainer; the local-learning
// simulator). The runner calls, per training batch:
//   forward -> monitor.observe -> after_forward (threshold) -> penalty (loss) ->
//   backward with gradient_hook() -> optimizer step -> after_update (weights)
// and end_epoch once per epoch. Constraint regulators act from attach() on, in every pass.
#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "homeostasis/registry.hpp"

namespace homeostat {

// Network indices of the layers a regulator spec names (every spiking layer when it names none).
// std::invalid_argument for a name that is not a layer, or a layer of the wrong kind for the
// channel (loss/threshold/constraint need spiking layers; weights need synapses).
template <typename Real>
std::vector<std::size_t> resolve_regulator_layers(const RegulatorSpec& spec,
                                                  Network<Real>& network);

template <typename Real>
class Homeostasis {
 public:
  Homeostasis() = default;
  // Builds every regulator and attaches it (constraints take effect at once).
  Homeostasis(const std::vector<RegulatorSpec>& specs, Network<Real>& network);

  [[nodiscard]] bool empty() const { return regulators_.empty(); }
  [[nodiscard]] bool has_loss() const { return has_loss_; }
  [[nodiscard]] const std::vector<RegulatorPtr<Real>>& regulators() const { return regulators_; }

  void after_forward(Network<Real>& network, const BatchActivity& activity,
                     const TrainingClock& clock);
  // Sum of the loss-channel penalties; prepares their gradients.
  double penalty(const BatchActivity& activity, const TrainingClock& clock);
  // Adds the loss-channel gradients; pass to Network::backward. Empty without loss regulators.
  [[nodiscard]] typename Network<Real>::SpikeGradientHook gradient_hook() const;
  void after_update(Network<Real>& network, const BatchActivity& activity,
                    const TrainingClock& clock);
  void end_epoch(Network<Real>& network, const EpochSignals& signals);

  // Target band per regulated layer name (the tightest a regulator gives), for alarms/reports.
  [[nodiscard]] std::map<std::string, std::pair<double, double>> bands(
      const Network<Real>& network) const;
  [[nodiscard]] nlohmann::json save_state() const;
  // Restores the state saved by save_state; ConfigError-free: a mismatching list is ignored with
  // a warning on stderr (the config changed between runs).
  void load_state(const nlohmann::json& state, Network<Real>& network);
  // [{kind, layers, ...describe()}] for metrics.jsonl.
  [[nodiscard]] nlohmann::json describe(const Network<Real>& network) const;

 private:
  std::vector<RegulatorPtr<Real>> regulators_;
  bool has_loss_ = false;
};

}  // namespace homeostat
