// What a network will take in memory, estimated from its layer specs alone (nothing is built or
// allocated), so that a config asking for more than the machine has is refused before it runs.
#pragma once

#include <cstddef>
#include <optional>
#include <vector>

#include "network/layer_spec.hpp"
#include "tensor/tensor.hpp"

namespace homeostat {

struct LayerFootprint {
  Shape output_shape;       // per sample
  double parameters = 0.0;  // weights, biases, gains (double: no overflow on absurd sizes)
};

// The layer's output shape and parameter count; nullopt when its geometry does not fit the input
// (the builder reports that with its own message).
std::optional<LayerFootprint> layer_footprint(const LayerSpec& spec, const Shape& input_shape);

struct FootprintSizes {
  std::size_t batch = 1;       // samples one pass holds at once
  std::size_t time_steps = 1;  // T: BPTT keeps every step
  std::size_t moments = 2;     // optimizer state per parameter (adam: 2, sgd: 1)
};

struct NetworkFootprint {
  double total_bytes = 0.0;
  double parameter_bytes = 0.0;     // values, gradients and optimizer moments
  double activation_bytes = 0.0;    // every layer's output over T steps and the batch
  std::vector<double> layer_bytes;  // per layer of the prefix that could be estimated
};

// The element count of `shape`, in double.
double shape_elements(const Shape& shape);

// Sums the layers' footprints in order, stopping at the first whose geometry does not fit.
// A lower bound: gradients of activations, scratch buffers and the data set are not counted.
NetworkFootprint network_footprint(const std::vector<LayerSpec>& layers, const Shape& input_shape,
                                   const FootprintSizes& sizes);

}  // namespace homeostat
