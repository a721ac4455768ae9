// Central finite-difference gradient checks (fourth-order five-point stencil) in double precision,
// shared by the layer tests. The scalar checked is L = sum_i r_i * output_i with fixed random r (so
// every output element and every step matters), unless a test supplies its own loss.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <string>

#include "layer/init.hpp"
#include "network/network.hpp"
#include "random/counter_rng.hpp"

namespace homeostat::testing {

inline Tensor<double> random_tensor(const Shape& shape, std::uint64_t key, double low,
                                    double high) {
  Tensor<double> t(shape);
  const CounterRng rng(1234, RngPurpose::test, {key});
  for (std::size_t i = 0; i < t.size(); ++i) t[i] = low + (high - low) * rng.uniform(i);
  return t;
}

inline InitSpec normal_init(double gain) { return {InitSpec::Kind::normal, gain, 0.1, false}; }

// A differentiable LIF (logistic forward, exact derivative) for finite-difference checks.
inline NeuronSpec smooth_spec() {
  NeuronSpec spec;
  spec.decay = 0.8;
  spec.threshold = 0.5;
  spec.reset = ResetMode::subtract;
  spec.detach_reset = false;
  spec.surrogate.sharpness = 0.5;
  spec.surrogate.smooth_forward = true;
  return spec;
}

struct GradientCheckOptions {
  double step = 1e-4;       // fourth-order stencil: truncation error O(step^4)
  double tolerance = 1e-6;  // relative error bound
  // The relative error uses max(|a|, |n|, floor): double-precision differences of an O(1) loss
  // carry ~1e-12 absolute noise, so entries far below the floor are compared absolutely.
  double absolute_floor = 1e-4;
  // Guards against vacuous checks: each tensor's largest gradient entry must exceed this.
  double minimum_signal = 1e-3;
  std::size_t max_entries_per_parameter = 24;
};

// Projection loss L = sum r .* output and its gradient dL/doutput = r.
inline double projection_loss(const Tensor<double>& output, Tensor<double>* grad) {
  const Tensor<double> weights = random_tensor(output.shape(), 99, -1.0, 1.0);
  double loss = 0;
  for (std::size_t i = 0; i < output.size(); ++i) loss += weights[i] * output[i];
  if (grad) *grad = weights;
  return loss;
}

using LossFunction = std::function<double(const Tensor<double>&, Tensor<double>*)>;

// Checks every parameter (up to max_entries_per_parameter entries each, spread evenly) against
// central differences and reports the worst relative error per tensor. A layer's input gradient
// is checked through the parameters of the layers before it, so tests put a parametrized layer
// first.
inline void expect_gradients_match(Network<double>& network, Tensor<double> input,
                                   const GradientCheckOptions& options = {},
                                   const LossFunction& loss = projection_loss,
                                   const RunContext& context = {true, 7, 0, 0}) {
  network.zero_grad();
  const Tensor<double>& output = network.forward(input, context);
  Tensor<double> grad_output;
  loss(output, &grad_output);
  network.backward(grad_output, {});

  const auto evaluate = [&]() { return loss(network.forward(input, context), nullptr); };
  const auto check = [&](const std::string& what, double* values, std::size_t count,
                         const std::function<double(std::size_t)>& analytic) {
    const std::size_t stride = std::max<std::size_t>(1, count / options.max_entries_per_parameter);
    double worst = 0.0;
    std::size_t worst_index = 0;
    double worst_a = 0, worst_n = 0, largest = 0;
    for (std::size_t i = 0; i < count; i += stride) {
      const double saved = values[i];
      const auto at = [&](double offset) {
        values[i] = saved + offset;
        return evaluate();
      };
      const double h = options.step;
      const double numeric = (-at(2 * h) + 8 * at(h) - 8 * at(-h) + at(-2 * h)) / (12 * h);
      values[i] = saved;
      const double a = analytic(i);
      largest = std::max(largest, std::abs(a));
      const double scale = std::max({std::abs(a), std::abs(numeric), options.absolute_floor});
      const double error = std::abs(a - numeric) / scale;
      if (error > worst) {
        worst = error;
        worst_index = i;
        worst_a = a;
        worst_n = numeric;
      }
    }
    EXPECT_GT(largest, options.minimum_signal) << what << ": gradient too small to check";
    EXPECT_LT(worst, options.tolerance)
        << what << "[" << worst_index << "]: analytic " << worst_a << " vs numeric " << worst_n;
  };

  for (Parameter<double>* p : network.parameters()) {
    const Tensor<double> grad = p->grad;
    check(p->name, p->value.data(), p->value.size(), [&](std::size_t i) { return grad[i]; });
  }
}

}  // namespace homeostat::testing
