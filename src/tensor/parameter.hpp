// A trainable parameter: value and gradient of the same shape. Gradients accumulate (+=) during
// backward and are cleared by the optimizer loop.
#pragma once

#include <string>

#include "tensor/tensor.hpp"

namespace homeostat {

template <typename Real>
struct Parameter {
  Parameter() = default;
  Parameter(std::string parameter_name, Shape shape, bool apply_weight_decay)
      : name(std::move(parameter_name)),
        value(shape),
        grad(shape),
        weight_decay(apply_weight_decay) {}

  std::string name;  // "<layer>.<field>", e.g. "hidden.weight"
  Tensor<Real> value;
  Tensor<Real> grad;
  bool weight_decay = true;  // false for biases, thresholds and decays
};

}  // namespace homeostat
