#include "metrics/batch_activity.hpp"

#include <algorithm>
#include <stdexcept>
#include <string>

namespace homeostat {

std::size_t BatchActivity::slot(std::size_t layer) const {
  const auto found = std::find(layers.begin(), layers.end(), layer);
  if (found == layers.end()) {
    throw std::out_of_range("layer " + std::to_string(layer) + " is not a spiking layer");
  }
  return static_cast<std::size_t>(found - layers.begin());
}

}  // namespace homeostat
