#include "homeostasis/regulator.hpp"

#include <algorithm>
#include <stdexcept>

namespace homeostat {

std::size_t BatchActivity::slot(std::size_t layer) const {
  const auto found = std::find(layers.begin(), layers.end(), layer);
  if (found == layers.end()) {
    throw std::out_of_range("layer " + std::to_string(layer) + " is not a spiking layer");
  }
  return static_cast<std::size_t>(found - layers.begin());
}

std::string_view channel_name(RegulatorChannel channel) {
  switch (channel) {
    case RegulatorChannel::loss:
      return "loss";
    case RegulatorChannel::threshold:
      return "threshold";
    case RegulatorChannel::weights:
      return "weights";
    case RegulatorChannel::constraint:
    default:
      return "constraint";
  }
}

}  // namespace homeostat
