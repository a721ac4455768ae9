// Weight channel: hard weight bounds. After every optimizer step the synapses onto the regulated
// layers are clipped to [min, max].
#pragma once

#include "homeostasis/registry.hpp"

namespace homeostat {

struct WeightBoundsParams {
  double min = -1.0;
  double max = 1.0;
};

template <typename Real>
class WeightBounds final : public Regulator<Real> {
 public:
  WeightBounds(std::string kind, std::vector<std::size_t> layers, const WeightBoundsParams& params);
  [[nodiscard]] std::vector<RegulatorChannel> channels() const override {
    return {RegulatorChannel::weights};
  }
  void attach(Network<Real>& network) override { clip(network); }
  void after_update(Network<Real>& network, const BatchActivity& activity,
                    const TrainingClock& clock) override;
  // Fraction of the regulated weights sitting at a bound (after the last clip).
  [[nodiscard]] nlohmann::json describe() const override;

 private:
  void clip(Network<Real>& network);

  WeightBoundsParams params_;
  double at_bounds_ = 0.0;
};

// The kinds this file registers (weight_bounds) with the readers of their config keys; listed
// in homeostasis/registry.cpp.
std::vector<RegulatorKind> weight_bounds_kinds();

}  // namespace homeostat
