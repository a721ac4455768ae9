// Turns layer descriptions into layers and networks.
#pragma once

#include <cstdint>
#include <vector>

#include "layer/layer.hpp"
#include "network/layer_spec.hpp"
#include "network/network.hpp"

namespace homeostat {

// One layer for the given per-sample input shape. `steps` is T (TEBN learns one weight per step).
// ConfigError when the input shape does not fit the kind (e.g. conv2d after a dense layer).
template <typename Real>
LayerPtr<Real> make_layer(const LayerSpec& spec, const Shape& input_shape, std::size_t steps,
                          std::uint64_t seed, std::uint64_t layer_index);

template <typename Real>
Network<Real> build_network(const std::vector<LayerSpec>& layers, const Shape& input_shape,
                            std::size_t steps, std::uint64_t seed);

}  // namespace homeostat
