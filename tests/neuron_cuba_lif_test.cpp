// The cuba_lif model (neuron/cuba_lif.hpp): its forward pass against hand-computed trajectories
// of its equations, the reduction to lif at alpha = 0, its keys, and finite-difference gradient
// checks in double precision (smooth spike function, reset gradient on) for feed-forward and
// recurrent layers with every reset mode, ALIF adaptation and learnable thresholds and decays.
// The PyTorch oracle checks it with real spikes (torch_oracle_test.cpp).
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "config/config_reader.hpp"
#include "config/experiment_reader.hpp"
#include "gradient_check.hpp"
#include "layer/dense.hpp"
#include "layer/readout.hpp"
#include "layer/recurrent.hpp"
#include "layer/spiking.hpp"
#include "network/builder.hpp"
#include "train/rate_pass.hpp"

namespace homeostat {
namespace {

using testing::expect_gradients_match;
using testing::normal_init;
using testing::random_tensor;

NeuronSpec cuba_spec(double synaptic_decay, ResetMode reset) {
  NeuronSpec spec;
  spec.model = "cuba_lif";
  spec.model_parameters["synaptic_decay"] = synaptic_decay;
  spec.decay = 0.5;
  spec.threshold = 1.0;
  spec.reset = reset;
  return spec;
}

// Runs one neuron (B = N = 1) on the given inputs; returns (v_t, z_t) per step.
std::pair<std::vector<double>, std::vector<double>> run_neuron(const NeuronSpec& spec,
                                                               const std::vector<double>& input) {
  SpikingLayer<double> layer("n", Shape{1}, spec);
  Tensor<double> x({input.size(), 1, 1});
  for (std::size_t t = 0; t < input.size(); ++t) x[t] = input[t];
  Tensor<double> spikes;
  layer.forward(x, spikes, RunContext{});
  std::vector<double> v(input.size()), z(input.size());
  for (std::size_t t = 0; t < input.size(); ++t) {
    v[t] = layer.neurons()->membrane()[t];
    z[t] = spikes[t];
  }
  return {v, z};
}

void expect_trajectory(const std::vector<double>& input, const NeuronSpec& spec,
                       const std::vector<double>& expected_v,
                       const std::vector<double>& expected_z) {
  const auto [v, z] = run_neuron(spec, input);
  for (std::size_t t = 0; t < v.size(); ++t) {
    EXPECT_NEAR(v[t], expected_v[t], 1e-12) << "t=" << t;
    EXPECT_EQ(z[t], expected_z[t]) << "t=" << t;
  }
}

TEST(CubaLifForward, SubtractResetHandComputed) {
  // alpha = beta = 0.5, theta = 1; i_t = 0.5 i_{t-1} + x_t, v_t = 0.5 v_{t-1} + i_t - z_{t-1}:
  // i: 0.8, 1.2, 1.4, 0.7, 0.35, 0.175; v: 0.8, 1.6 (spike), 1.2 (spike), 0.3, 0.5, 0.425. The
  // synaptic current keeps driving the membrane after the input stops.
  expect_trajectory({0.8, 0.8, 0.8, 0.0, 0.0, 0.0}, cuba_spec(0.5, ResetMode::subtract),
                    {0.8, 1.6, 1.2, 0.3, 0.5, 0.425}, {0, 1, 1, 0, 0, 0});
}

TEST(CubaLifForward, ZeroResetHandComputed) {
  // i: 0.8, 1.2, 1.4, 0.7, 0.35; v: 0.8, 1.6 (spike), 1.4 (restart from 0; spike), 0.7, 0.7.
  expect_trajectory({0.8, 0.8, 0.8, 0.0, 0.0}, cuba_spec(0.5, ResetMode::zero),
                    {0.8, 1.6, 1.4, 0.7, 0.7}, {0, 1, 1, 0, 0});
}

TEST(CubaLifForward, RefractoryMembraneIgnoresTheCurrentWhileTheSynapseIntegrates) {
  NeuronSpec spec = cuba_spec(0.5, ResetMode::zero);
  spec.refractory_steps = 1;
  // i: 2, 2.5, 1.25, 0.625. t0: v = 2, spike. t1: closed: the membrane ignores i_1 (v = 0 after
  // the reset) while the synapse integrates x_1. t2: v = 0 + 1.25, spike. t3: closed, v = 0.
  // (A synapse closed with the membrane would give i_2 = 0.5 and no second spike.)
  expect_trajectory({2.0, 1.5, 0.0, 0.0}, spec, {2.0, 0.0, 1.25, 0.0}, {1, 0, 1, 0});
}

TEST(CubaLifForward, WithoutSynapticDecayItIsLif) {
  // alpha = 0: i_t = x_t exactly, so every membrane value and spike equals lif's, through
  // ALIF adaptation, a refractory period and learnable thresholds.
  NeuronSpec lif;
  lif.decay = 0.8;
  lif.threshold = 0.6;
  lif.adaptive = true;
  lif.adaptation_decay = 0.7;
  lif.adaptation_strength = 0.3;
  lif.refractory_steps = 1;
  lif.learn_threshold = NeuronSpec::Learn::neuron;
  NeuronSpec cuba = lif;
  cuba.model = "cuba_lif";
  cuba.model_parameters["synaptic_decay"] = 0.0;
  SpikingLayer<double> lif_layer("a", Shape{7}, lif);
  SpikingLayer<double> cuba_layer("b", Shape{7}, cuba);
  const Tensor<double> input = random_tensor({12, 3, 7}, 5, -0.5, 1.5);
  Tensor<double> lif_spikes, cuba_spikes;
  lif_layer.forward(input, lif_spikes, RunContext{});
  cuba_layer.forward(input, cuba_spikes, RunContext{});
  double spikes = 0.0;
  for (std::size_t e = 0; e < input.size(); ++e) {
    ASSERT_EQ(cuba_spikes[e], lif_spikes[e]) << e;
    ASSERT_EQ(cuba_layer.neurons()->membrane()[e], lif_layer.neurons()->membrane()[e]) << e;
    spikes += lif_spikes[e];
  }
  EXPECT_GT(spikes, 0.0);
  EXPECT_LT(spikes, static_cast<double>(input.size()));
}

TEST(CubaLifForward, KindIsTheModelName) {
  const SpikingLayer<float> layer("n", Shape{3}, cuba_spec(0.5, ResetMode::zero));
  EXPECT_EQ(layer.kind(), "cuba_lif");
}

// ---- Config ----

ExperimentConfig config_with_layer(const std::string& layer) {
  return parse_experiment(
      parse_config_string("name = \"t\"\n[[network.layers]]\nkind = \"dense\"\nunits = 4\n"
                          "[[network.layers]]\n" +
                              layer +
                              "\n[[network.layers]]\nkind = \"dense\"\nunits = 10\n"
                              "[[network.layers]]\nkind = \"lif\"\n",
                          "t.toml"));
}

TEST(CubaLifConfig, ReadsItsOwnKeysAndTheLifOnes) {
  const ExperimentConfig config = config_with_layer(
      "kind = \"cuba_lif\"\nsynaptic_tau = 4.0\ntau = 10.0\nthreshold = 0.7\nreset = \"zero\"\n"
      "surrogate = \"arctan\"\nsharpness = 2.0");
  const LayerSpec& layer = config.layers[1];
  EXPECT_EQ(layer.kind, LayerKind::lif);
  EXPECT_EQ(layer.name, "cuba_lif1");
  EXPECT_EQ(layer.neuron.model, "cuba_lif");
  EXPECT_DOUBLE_EQ(layer.neuron.parameter("synaptic_decay", -1.0), std::exp(-1.0 / 4.0));
  EXPECT_DOUBLE_EQ(layer.neuron.decay, std::exp(-1.0 / 10.0));
  EXPECT_DOUBLE_EQ(layer.neuron.threshold, 0.7);
  EXPECT_EQ(layer.neuron.reset, ResetMode::zero);
  EXPECT_EQ(layer.neuron.surrogate.kind, SurrogateKind::arctan);
  EXPECT_DOUBLE_EQ(layer.neuron.surrogate.sharpness, 2.0);
  const Network<float> network = build_network<float>(config.layers, {3}, 5, 1);
  EXPECT_EQ(network.layer(1).kind(), "cuba_lif");
}

TEST(CubaLifConfig, RecurrentLayersTakeTheModelAsNeuron) {
  const ExperimentConfig config = config_with_layer(
      "kind = \"recurrent\"\nunits = 6\nneuron = \"cuba_lif\"\nsynaptic_decay = 0.6");
  EXPECT_EQ(config.layers[1].neuron.model, "cuba_lif");
  EXPECT_DOUBLE_EQ(config.layers[1].neuron.parameter("synaptic_decay", -1.0), 0.6);
}

std::string config_error_of(const std::string& layer) {
  try {
    (void)config_with_layer(layer);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "no error";
}

TEST(CubaLifConfig, RejectsConflictingAndForeignKeys) {
  EXPECT_NE(config_error_of("kind = \"cuba_lif\"\nsynaptic_tau = 4.0\nsynaptic_decay = 0.5")
                .find("give either 'synaptic_decay'"),
            std::string::npos);
  EXPECT_NE(config_error_of("kind = \"cuba_lif\"\nsynaptic_decay = 1.5").find("synaptic_decay"),
            std::string::npos);
  // lif has no synapse: the key is unknown there.
  EXPECT_NE(config_error_of("kind = \"lif\"\nsynaptic_decay = 0.5").find("unknown key"),
            std::string::npos);
  EXPECT_NE(config_error_of("kind = \"recurrent\"\nunits = 3\nneuron = \"cuba\"")
                .find("must be one of: lif, cuba_lif"),
            std::string::npos);
  EXPECT_NE(config_error_of("kind = \"cubalif\"").find("cuba_lif"), std::string::npos);
}

TEST(CubaLifConfig, TheRatePassRefusesIt) {
  const ExperimentConfig config = config_with_layer("kind = \"cuba_lif\"");
  EXPECT_NE(rate_training_obstacle(config.layers, LossKind::ce_count, {}).find("cuba_lif"),
            std::string::npos);
  Network<double> network = build_network<double>(config.layers, {3}, 5, 1);
  EXPECT_THROW(RatePass<double>(network, LossSpec{}), ConfigError);
}

// ---- Gradients ----

struct Variant {
  const char* name;
  ResetMode reset;
  bool adaptive;
  bool learn_neuron;  // per-neuron (true) or per-layer (false) learnable threshold and decay
};

std::string variant_name(const ::testing::TestParamInfo<Variant>& info) { return info.param.name; }

// Differentiable: logistic forward with its exact derivative, reset gradient on.
NeuronSpec smooth_cuba_spec(const Variant& v) {
  NeuronSpec spec = testing::smooth_spec();
  spec.model = "cuba_lif";
  spec.model_parameters["synaptic_decay"] = 0.7;
  spec.reset = v.reset;
  spec.adaptive = v.adaptive;
  spec.adaptation_decay = 0.7;
  spec.adaptation_strength = 0.3;
  spec.learn_threshold = v.learn_neuron ? NeuronSpec::Learn::neuron : NeuronSpec::Learn::layer;
  spec.learn_decay = v.learn_neuron ? NeuronSpec::Learn::neuron : NeuronSpec::Learn::layer;
  return spec;
}

class CubaLifGradient : public ::testing::TestWithParam<Variant> {};

TEST_P(CubaLifGradient, FeedForwardDenseCubaLif) {
  const NeuronSpec spec = smooth_cuba_spec(GetParam());
  Network<double> net;
  net.add(std::make_unique<DenseLayer<double>>("fc1", Shape{5}, 6, true, normal_init(1.5), 1, 0));
  net.add(std::make_unique<SpikingLayer<double>>("cuba1", Shape{6}, spec));
  net.add(std::make_unique<DenseLayer<double>>("fc2", Shape{6}, 3, true, normal_init(1.5), 1, 2));
  net.add(std::make_unique<SpikingLayer<double>>("cuba2", Shape{3}, spec));
  expect_gradients_match(net, random_tensor({8, 2, 5}, 1, 0.0, 1.0));
}

TEST_P(CubaLifGradient, RecurrentWithRefractoryPeriodAndReadout) {
  NeuronSpec spec = smooth_cuba_spec(GetParam());
  spec.refractory_steps = 1;
  Network<double> net;
  net.add(std::make_unique<RecurrentLayer<double>>("rec", Shape{4}, 5, spec, true, normal_init(2.0),
                                                   normal_init(1.5), 3, 0));
  net.add(std::make_unique<DenseLayer<double>>("fc", Shape{5}, 3, true, normal_init(1.0), 3, 1));
  net.add(std::make_unique<ReadoutLayer<double>>("out", Shape{3}, 0.9));
  expect_gradients_match(net, random_tensor({9, 2, 4}, 2, 0.0, 1.0));
}

INSTANTIATE_TEST_SUITE_P(
    AllVariants, CubaLifGradient,
    ::testing::Values(Variant{"Subtract", ResetMode::subtract, false, true},
                      Variant{"SubtractPerLayer", ResetMode::subtract, false, false},
                      Variant{"Zero", ResetMode::zero, false, true},
                      Variant{"NoReset", ResetMode::none, false, false},
                      Variant{"AdaptiveSubtract", ResetMode::subtract, true, true}),
    variant_name);

}  // namespace
}  // namespace homeostat
