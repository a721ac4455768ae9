// Weight initialization. "uniform" with gain 1 is PyTorch's default for Linear/Conv
// (U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for weights and bias); "normal" draws N(0, gain^2/fan_in)
// weights and zero biases. `mean` shifts every weight (the advisor's condition I sets it). Draws
// come from a counter-based stream keyed by (seed, layer, tensor).
#pragma once

#include <cmath>
#include <cstdint>
#include <string>

#include "random/counter_rng.hpp"
#include "tensor/tensor.hpp"

namespace homeostat {

struct InitSpec {
  enum class Kind { uniform, normal } kind = Kind::uniform;
  double gain = 1.0;
  double bias = 0.0;        // added to every bias after drawing
  bool random_bias = true;  // uniform only: draw biases like PyTorch
  double mean = 0.0;        // added to every weight after drawing (stability-based init)
};

template <typename Real>
void init_weights(const InitSpec& spec, std::size_t fan_in, std::uint64_t seed,
                  std::uint64_t layer_index, Tensor<Real>& weight, Tensor<Real>* bias) {
  const double scale = spec.gain / std::sqrt(static_cast<double>(fan_in));
  RngStream weights(CounterRng(seed, RngPurpose::init, {layer_index, 0}));
  for (std::size_t i = 0; i < weight.size(); ++i) {
    const double draw = spec.kind == InitSpec::Kind::uniform
                            ? (2.0 * weights.uniform() - 1.0) * scale
                            : weights.normal() * scale;
    weight[i] = static_cast<Real>(draw + spec.mean);
  }
  if (!bias) return;
  RngStream biases(CounterRng(seed, RngPurpose::init, {layer_index, 1}));
  for (std::size_t i = 0; i < bias->size(); ++i) {
    const double draw = spec.kind == InitSpec::Kind::uniform && spec.random_bias
                            ? (2.0 * biases.uniform() - 1.0) * scale
                            : 0.0;
    (*bias)[i] = static_cast<Real>(draw + spec.bias);
  }
}

}  // namespace homeostat
