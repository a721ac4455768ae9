// Forward dynamics of the LIF/ALIF kernels against hand-computed trajectories, and every
// surrogate derivative against its closed form (papers.md section 3).
#include <gtest/gtest.h>

#include <cmath>
#include <numbers>

#include "common/error.hpp"
#include "layer/spiking.hpp"

namespace homeostat {
namespace {

// Runs one neuron (B = N = 1) on the given input currents; returns (v_t, z_t) per step.
std::pair<std::vector<double>, std::vector<double>> run_neuron(const NeuronSpec& spec,
                                                               const std::vector<double>& input) {
  SpikingLayer<double> layer("n", Shape{1}, spec);
  Tensor<double> current({input.size(), 1, 1});
  for (std::size_t t = 0; t < input.size(); ++t) current[t] = input[t];
  Tensor<double> spikes;
  layer.forward(current, spikes, RunContext{});
  std::vector<double> v(input.size()), z(input.size());
  for (std::size_t t = 0; t < input.size(); ++t) {
    v[t] = layer.neurons()->membrane()[t];
    z[t] = spikes[t];
  }
  return {v, z};
}

NeuronSpec base_spec(ResetMode reset) {
  NeuronSpec spec;
  spec.decay = 0.5;
  spec.threshold = 1.0;
  spec.reset = reset;
  return spec;
}

TEST(LifForward, SubtractResetHandComputed) {
  // v: 0.6, 0.9, 1.05 (spike), 0.525+0.6-1 = 0.125, 0.0625+0.6 = 0.6625, 0.93125, 1.065625 (spike)
  const auto [v, z] = run_neuron(base_spec(ResetMode::subtract), std::vector<double>(7, 0.6));
  const std::vector<double> expected_v{0.6, 0.9, 1.05, 0.125, 0.6625, 0.93125, 1.065625};
  const std::vector<double> expected_z{0, 0, 1, 0, 0, 0, 1};
  for (std::size_t t = 0; t < v.size(); ++t) {
    EXPECT_NEAR(v[t], expected_v[t], 1e-12) << "t=" << t;
    EXPECT_EQ(z[t], expected_z[t]) << "t=" << t;
  }
}

TEST(LifForward, ZeroResetHandComputed) {
  // After the spike at t=2 the membrane restarts from 0: v3 = 0.5*1.05*0 + 0.6 = 0.6.
  const auto [v, z] = run_neuron(base_spec(ResetMode::zero), std::vector<double>(6, 0.6));
  const std::vector<double> expected_v{0.6, 0.9, 1.05, 0.6, 0.9, 1.05};
  const std::vector<double> expected_z{0, 0, 1, 0, 0, 1};
  for (std::size_t t = 0; t < v.size(); ++t) {
    EXPECT_NEAR(v[t], expected_v[t], 1e-12) << "t=" << t;
    EXPECT_EQ(z[t], expected_z[t]) << "t=" << t;
  }
}

TEST(LifForward, NoResetKeepsIntegrating) {
  // v_t = 0.6 (1 - 0.5^{t+1}) / 0.5 -> 1.2; spikes from the step v first exceeds 1.
  const auto [v, z] = run_neuron(base_spec(ResetMode::none), std::vector<double>(6, 0.6));
  for (std::size_t t = 0; t < v.size(); ++t) {
    const double expected = 1.2 * (1.0 - std::pow(0.5, static_cast<double>(t + 1)));
    EXPECT_NEAR(v[t], expected, 1e-12);
    EXPECT_EQ(z[t], expected > 1.0 ? 1.0 : 0.0);
  }
}

TEST(LifForward, RefractoryPeriodSuppressesSpikesForRSteps) {
  NeuronSpec spec = base_spec(ResetMode::none);
  spec.refractory_steps = 2;
  // Strong input: without refractoriness it would spike every step.
  const auto [v, z] = run_neuron(spec, std::vector<double>(8, 2.0));
  const std::vector<double> expected_z{1, 0, 0, 1, 0, 0, 1, 0};
  for (std::size_t t = 0; t < z.size(); ++t) EXPECT_EQ(z[t], expected_z[t]) << "t=" << t;
}

TEST(AlifForward, ThresholdAdaptsToRecentSpikes) {
  NeuronSpec spec = base_spec(ResetMode::zero);
  spec.adaptive = true;
  spec.adaptation_decay = 0.5;     // rho
  spec.adaptation_strength = 1.0;  // beta_a
  // Input 1.2 each step with zero reset: v = 1.2 right after a reset.
  // t0: a=0, theta=1, v=1.2 -> spike. t1: a=0.5, theta=1.5, v=1.2 (reset) -> no spike.
  // t2: a=0.25, theta=1.25, v=0.6+1.2=1.8 -> spike. t3: a=0.625, theta=1.625, v=1.2 -> none.
  const auto [v, z] = run_neuron(spec, std::vector<double>(4, 1.2));
  const std::vector<double> expected_v{1.2, 1.2, 1.8, 1.2};
  const std::vector<double> expected_z{1, 0, 1, 0};
  for (std::size_t t = 0; t < v.size(); ++t) {
    EXPECT_NEAR(v[t], expected_v[t], 1e-12) << "t=" << t;
    EXPECT_EQ(z[t], expected_z[t]) << "t=" << t;
  }
}

TEST(LifForward, ThresholdScaleMultipliesTheThreshold) {
  SpikingLayer<double> layer("n", Shape{1}, base_spec(ResetMode::none));
  layer.neurons()->set_threshold_scale(2.0);
  Tensor<double> current({3, 1, 1}, 1.5);
  Tensor<double> spikes;
  layer.forward(current, spikes, RunContext{});
  // v: 1.5, 2.25, 2.625 against theta 2.
  EXPECT_EQ(spikes[0], 0.0);
  EXPECT_EQ(spikes[1], 1.0);
  EXPECT_EQ(spikes[2], 1.0);
}

TEST(Surrogate, EveryShapeMatchesItsClosedForm) {
  const double gamma = 0.7, beta = 1.3, q = 4.0;
  const auto sig = [](double y) { return 1.0 / (1.0 + std::exp(-y)); };
  for (const double x : {-0.9, -0.2, 0.0, 0.3, 1.1}) {
    const double bx = beta * x;
    const std::vector<std::pair<SurrogateKind, double>> expected{
        {SurrogateKind::fast_sigmoid, gamma / std::pow(1 + 2 * std::abs(bx), 2)},
        {SurrogateKind::q_tail, gamma / std::pow(1 + 2 * std::abs(bx) / (q - 1), q)},
        {SurrogateKind::sigmoid, 4 * gamma * sig(4 * bx) * (1 - sig(4 * bx))},
        {SurrogateKind::arctan, gamma / (1 + std::pow(std::numbers::pi * bx, 2))},
        {SurrogateKind::triangular, gamma * std::max(0.0, 1 - std::abs(bx))},
        {SurrogateKind::exponential, gamma * std::exp(-2 * std::abs(bx))},
        {SurrogateKind::gaussian, gamma * std::exp(-std::numbers::pi * bx * bx)},
        {SurrogateKind::rectangular, std::abs(2 * bx) < 1 ? gamma : 0.0}};
    for (const auto& [kind, value] : expected) {
      SurrogateSpec spec{kind, gamma, beta, q, false};
      EXPECT_NEAR(surrogate_derivative(spec, x), value, 1e-12)
          << surrogate_kind_name(kind) << " at " << x;
    }
  }
}

TEST(Surrogate, QTailWithQTwoIsTheFastSigmoid) {
  const SurrogateSpec fast{SurrogateKind::fast_sigmoid, 1.0, 2.0, 2.0, false};
  const SurrogateSpec tail{SurrogateKind::q_tail, 1.0, 2.0, 2.0, false};
  for (const double x : {-0.5, 0.1, 0.7}) {
    EXPECT_NEAR(surrogate_derivative(fast, x), surrogate_derivative(tail, x), 1e-12);
  }
}

TEST(Surrogate, ParseRejectsUnknownNamesListingValidOnes) {
  EXPECT_EQ(parse_surrogate_kind("arctan"), SurrogateKind::arctan);
  try {
    parse_surrogate_kind("sigmoidal");
    FAIL() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("fast_sigmoid"), std::string::npos);
  }
}

}  // namespace
}  // namespace homeostat
