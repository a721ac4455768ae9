// Finite-difference checks (double precision, smooth spike function) for every neuron variant
// x reset mode x layer kind, with learnable thresholds and decays switched on. The reset's
// gradient is on here: with detach_reset the backward pass is by design not the derivative of
// the forward pass, so detached variants are checked against PyTorch's detach() instead
// (torch_oracle_test.cpp).
#include <gtest/gtest.h>

#include "gradient_check.hpp"
#include "layer/dense.hpp"
#include "layer/dropout.hpp"
#include "layer/readout.hpp"
#include "layer/recurrent.hpp"
#include "layer/spiking.hpp"

namespace homeostat {
namespace {

using testing::expect_gradients_match;
using testing::random_tensor;

struct Variant {
  const char* name;
  ResetMode reset;
  bool detach_reset;
  bool adaptive;
  bool learn_neuron;  // per-neuron (true) or per-layer (false) learnable threshold/decay
};

std::string variant_name(const ::testing::TestParamInfo<Variant>& info) { return info.param.name; }

NeuronSpec smooth_spec(const Variant& v) {
  NeuronSpec spec;
  spec.decay = 0.8;
  spec.threshold = 0.5;
  spec.reset = v.reset;
  spec.detach_reset = v.detach_reset;
  spec.adaptive = v.adaptive;
  spec.adaptation_decay = 0.7;
  spec.adaptation_strength = 0.3;
  spec.learn_threshold = v.learn_neuron ? NeuronSpec::Learn::neuron : NeuronSpec::Learn::layer;
  spec.learn_decay = v.learn_neuron ? NeuronSpec::Learn::neuron : NeuronSpec::Learn::layer;
  spec.surrogate.sharpness = 0.5;
  spec.surrogate.smooth_forward = true;
  return spec;
}

using testing::normal_init;

class NeuronGradient : public ::testing::TestWithParam<Variant> {};

TEST_P(NeuronGradient, FeedForwardDenseLif) {
  const NeuronSpec spec = smooth_spec(GetParam());
  Network<double> net;
  net.add(std::make_unique<DenseLayer<double>>("fc1", Shape{5}, 6, true, normal_init(2.0), 1, 0));
  net.add(std::make_unique<SpikingLayer<double>>("lif1", Shape{6}, spec));
  net.add(std::make_unique<DenseLayer<double>>("fc2", Shape{6}, 3, true, normal_init(2.0), 1, 2));
  net.add(std::make_unique<SpikingLayer<double>>("lif2", Shape{3}, spec));
  expect_gradients_match(net, random_tensor({6, 2, 5}, 1, 0.0, 1.0));
}

TEST_P(NeuronGradient, RecurrentWithZeroDiagonalAndReadout) {
  const NeuronSpec spec = smooth_spec(GetParam());
  Network<double> net;
  net.add(std::make_unique<RecurrentLayer<double>>("rec", Shape{4}, 5, spec, true, normal_init(2.0),
                                                   normal_init(1.5), 3, 0));
  net.add(std::make_unique<DenseLayer<double>>("fc", Shape{5}, 3, true, normal_init(1.0), 3, 1));
  net.add(std::make_unique<ReadoutLayer<double>>("out", Shape{3}, 0.9));
  expect_gradients_match(net, random_tensor({7, 2, 4}, 2, 0.0, 1.0));
}

TEST_P(NeuronGradient, RecurrentWithRefractoryPeriodAndFiringCap) {
  // The constraint channel inside a recurrent layer: closed steps carry no input gradient, the
  // recurrent path through the leak stays differentiable.
  NeuronSpec spec = smooth_spec(GetParam());
  spec.refractory_steps = 1;
  Network<double> net;
  net.add(std::make_unique<RecurrentLayer<double>>("rec", Shape{4}, 6, spec, true, normal_init(3.0),
                                                   normal_init(1.5), 7, 0));
  net.layer(0).neurons()->set_constraints({1, 2, 4, 0});
  net.add(std::make_unique<DenseLayer<double>>("fc", Shape{6}, 3, true, normal_init(1.0), 7, 1));
  net.add(std::make_unique<ReadoutLayer<double>>("out", Shape{3}, 0.9));
  expect_gradients_match(net, random_tensor({9, 2, 4}, 4, 0.0, 1.0));
}

TEST_P(NeuronGradient, RefractoryPeriodWithDropout) {
  NeuronSpec spec = smooth_spec(GetParam());
  spec.refractory_steps = 2;
  Network<double> net;
  net.add(std::make_unique<DenseLayer<double>>("fc1", Shape{5}, 8, true, normal_init(3.0), 5, 0));
  net.add(std::make_unique<SpikingLayer<double>>("lif1", Shape{8}, spec));
  net.add(std::make_unique<DropoutLayer<double>>("drop", Shape{8}, 0.3, 2));
  net.add(std::make_unique<DenseLayer<double>>("fc2", Shape{8}, 3, true, normal_init(2.0), 5, 3));
  net.add(std::make_unique<SpikingLayer<double>>("lif2", Shape{3}, spec));
  expect_gradients_match(net, random_tensor({10, 3, 5}, 3, 0.0, 1.0));
}

INSTANTIATE_TEST_SUITE_P(
    AllVariants, NeuronGradient,
    ::testing::Values(Variant{"LifSubtractPerNeuron", ResetMode::subtract, false, false, true},
                      Variant{"LifSubtractPerLayer", ResetMode::subtract, false, false, false},
                      Variant{"LifZeroPerNeuron", ResetMode::zero, false, false, true},
                      Variant{"LifZeroPerLayer", ResetMode::zero, false, false, false},
                      Variant{"LifNoReset", ResetMode::none, false, false, true},
                      Variant{"AlifSubtract", ResetMode::subtract, false, true, true},
                      Variant{"AlifZero", ResetMode::zero, false, true, false},
                      Variant{"AlifNoReset", ResetMode::none, false, true, true}),
    variant_name);

}  // namespace
}  // namespace homeostat
