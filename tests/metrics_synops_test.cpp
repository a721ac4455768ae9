// Tests for SynOps counting on a hand-built network with hand-made input and hand-set weights
// (so every layer's spikes are known), and for the mutual information of confusion matrices and
// synaptic efficiency.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "metrics/information.hpp"
#include "metrics/synops.hpp"
#include "network/builder.hpp"

namespace homeostat {
namespace {

// dense0 (4 -> 3, no bias) -> lif1 (zero reset) -> recurrent2 (4 units) -> dense3 (2) -> readout4
// with dense0's weights all 10 (a LIF neuron spikes exactly at the steps whose input row has a
// positive value) and recurrent2 driven by its bias 10 alone (every unit spikes at every step).
template <typename Real>
Network<Real> hand_network(bool zero_diagonal, std::size_t steps) {
  LayerSpec dense0;
  dense0.kind = LayerKind::dense;
  dense0.name = "dense0";
  dense0.units = 3;
  dense0.bias = false;
  LayerSpec lif1;
  lif1.kind = LayerKind::lif;
  lif1.name = "lif1";
  lif1.neuron.reset = ResetMode::zero;
  LayerSpec recurrent2;
  recurrent2.kind = LayerKind::recurrent;
  recurrent2.name = "recurrent2";
  recurrent2.units = 4;
  recurrent2.zero_diagonal = zero_diagonal;
  LayerSpec dense3;
  dense3.kind = LayerKind::dense;
  dense3.name = "dense3";
  dense3.units = 2;
  LayerSpec readout4;
  readout4.kind = LayerKind::readout;
  readout4.name = "readout4";
  Network<Real> network =
      build_network<Real>({dense0, lif1, recurrent2, dense3, readout4}, {4}, steps, 1);
  for (Parameter<Real>* p : network.layer(0).parameters()) p->value.fill(Real{10});
  for (Parameter<Real>* p : network.layer(2).parameters()) {
    if (p->name == "recurrent2.bias") {
      p->value.fill(Real{10});
    } else if (p->name == "recurrent2.input_weight" || p->name == "recurrent2.recurrent_weight") {
      p->value.zero();
    }
  }
  return network;
}

// [T = 3, B = 2, 4]: 6 non-zero values in 3 of the 6 (t, b) rows.
template <typename Real>
Tensor<Real> hand_input() {
  Tensor<Real> input({3, 2, 4});
  const auto at = [&](std::size_t t, std::size_t b, std::size_t f) -> Real& {
    return input[(t * 2 + b) * 4 + f];
  };
  at(0, 0, 0) = 1;
  at(0, 0, 3) = 1;
  at(1, 0, 1) = Real{0.5};
  at(2, 1, 0) = 1;
  at(2, 1, 1) = 1;
  at(2, 1, 2) = 1;
  return input;
}

template <typename Real>
std::size_t nonzeros(const Tensor<Real>& tensor) {
  std::size_t n = 0;
  for (std::size_t i = 0; i < tensor.size(); ++i) n += tensor[i] != Real{0};
  return n;
}

TEST(Synops, LayersReportTheirFanOut) {
  const Network<float> network = hand_network<float>(true, 3);
  EXPECT_EQ(network.layer(0).fan_out_per_input(), 3u);
  EXPECT_EQ(network.layer(1).fan_out_per_input(), 0u);
  EXPECT_EQ(network.layer(2).fan_out_per_input(), 4u);
  EXPECT_EQ(network.layer(2).recurrent_fan_out(), 3u);
  EXPECT_EQ(network.layer(3).fan_out_per_input(), 2u);
  EXPECT_EQ(network.layer(4).fan_out_per_input(), 0u);
  EXPECT_EQ(network.layer(0).recurrent_fan_out(), 0u);
  EXPECT_EQ(hand_network<float>(false, 3).layer(2).recurrent_fan_out(), 4u);
}

template <typename Real>
void check_hand_network() {
  const Tensor<Real> input = hand_input<Real>();
  for (const bool zero_diagonal : {true, false}) {
    Network<Real> network = hand_network<Real>(zero_diagonal, 3);
    network.forward(input, RunContext{});
    // The spikes the weights were chosen to give.
    ASSERT_EQ(nonzeros(network.output(1)), 9u);   // 3 rows with input x 3 neurons
    ASSERT_EQ(nonzeros(network.output(2)), 24u);  // 3 steps x 2 samples x 4 units
    SynopsCounter<Real> counter(network);
    EXPECT_EQ(counter.per_sample(), 0.0);
    counter.observe(network, input);
    // dense0: 6 input values x 3 = 18; recurrent2 input: 9 spikes x 4 = 36; its recurrent matrix:
    // the 16 spikes of steps 0 and 1 x (4 - 1 with a zero diagonal, else 4) = 48 (64);
    // dense3: 24 spikes x 2 = 48; lif1 and readout4: 0.
    const std::uint64_t total = zero_diagonal ? 18 + 36 + 48 + 48 : 18 + 36 + 64 + 48;
    EXPECT_EQ(counter.total(), total);
    EXPECT_EQ(counter.samples(), 2u);
    EXPECT_DOUBLE_EQ(counter.per_sample(), static_cast<double>(total) / 2.0);
    const std::vector<LayerSynops> layers = counter.per_layer();
    ASSERT_EQ(layers.size(), 3u);
    EXPECT_EQ(layers[0].name, "dense0");
    EXPECT_DOUBLE_EQ(layers[0].per_sample, 9.0);
    EXPECT_EQ(layers[1].name, "recurrent2");
    EXPECT_DOUBLE_EQ(layers[1].per_sample, zero_diagonal ? 42.0 : 50.0);
    EXPECT_DOUBLE_EQ(layers[1].recurrent_per_sample, zero_diagonal ? 24.0 : 32.0);
    EXPECT_EQ(layers[2].name, "dense3");
    EXPECT_DOUBLE_EQ(layers[2].per_sample, 24.0);
    // A second batch accumulates; the per-sample figure stays.
    counter.observe(network, input);
    EXPECT_EQ(counter.total(), 2 * total);
    EXPECT_DOUBLE_EQ(counter.per_sample(), static_cast<double>(total) / 2.0);
    counter.reset();
    EXPECT_EQ(counter.total(), 0u);
    EXPECT_EQ(counter.per_sample(), 0.0);
  }
}

TEST(Synops, HandBuiltNetworkFloat) { check_hand_network<float>(); }
TEST(Synops, HandBuiltNetworkDouble) { check_hand_network<double>(); }

TEST(Synops, SilentInputOnlyCountsTheSelfDrivenLayer) {
  Network<float> network = hand_network<float>(true, 3);
  const Tensor<float> silent({3, 2, 4});
  network.forward(silent, RunContext{});
  SynopsCounter<float> counter(network);
  counter.observe(network, silent);
  EXPECT_EQ(counter.total(), 48u + 48u);  // recurrent2 fires from its bias alone
}

TEST(Synops, CountNonzeroIsExactOnLargeTensors) {
  std::vector<float> values(1 << 20, 0.0f);
  std::size_t expected = 0;
  for (std::size_t i = 0; i < values.size(); i += 7) {
    values[i] = i % 2 ? 1.0f : -0.25f;
    ++expected;
  }
  EXPECT_EQ(count_nonzero(std::span<const float>(values)), expected);
  EXPECT_EQ(count_nonzero(std::span<const float>(values).first(0)), 0u);
}

TEST(Information, PerfectBalancedClassifierCarriesLogClassesBits) {
  const std::vector<std::size_t> two = {50, 0, 0, 50};
  EXPECT_NEAR(mutual_information_bits(two, 2), 1.0, 1e-12);
  std::vector<std::size_t> ten(100, 0);
  for (std::size_t i = 0; i < 10; ++i) ten[i * 10 + i] = 37;
  EXPECT_NEAR(mutual_information_bits(ten, 10), std::log2(10.0), 1e-12);
}

TEST(Information, IndependentPredictionsCarryNothing) {
  EXPECT_NEAR(mutual_information_bits(std::vector<std::size_t>(9, 5), 3), 0.0, 1e-12);
  // Independent but not uniform: p(true) = (1/4, 3/4), p(pred) = (2/3, 1/3).
  const std::vector<std::size_t> product = {20, 10, 60, 30};
  EXPECT_NEAR(mutual_information_bits(product, 2), 0.0, 1e-12);
  // A constant prediction carries nothing either.
  EXPECT_NEAR(mutual_information_bits(std::vector<std::size_t>{40, 0, 60, 0}, 2), 0.0, 1e-12);
  EXPECT_EQ(mutual_information_bits(std::vector<std::size_t>(4, 0), 2), 0.0);
}

TEST(Information, HandComputedTwoByTwo) {
  // n = [[30, 10], [20, 40]], N = 100: rows (0.4, 0.6), columns (0.5, 0.5).
  // I = 0.3 log2(0.3/0.2) + 0.1 log2(0.1/0.2) + 0.2 log2(0.2/0.3) + 0.4 log2(0.4/0.3)
  const double expected = 0.3 * std::log2(1.5) + 0.1 * std::log2(0.5) + 0.2 * std::log2(2.0 / 3.0) +
                          0.4 * std::log2(4.0 / 3.0);
  EXPECT_NEAR(expected, 0.124511, 1e-6);
  EXPECT_NEAR(mutual_information_bits(std::vector<std::size_t>{30, 10, 20, 40}, 2), expected,
              1e-12);
  EXPECT_THROW(mutual_information_bits(std::vector<std::size_t>{1, 2, 3}, 2),
               std::invalid_argument);
}

TEST(Information, SynapticEfficiencyIsBitsPerMillionSynops) {
  EXPECT_DOUBLE_EQ(synaptic_efficiency(1.0, 2e6), 0.5);
  EXPECT_DOUBLE_EQ(synaptic_efficiency(3.0, 5e5), 6.0);
  EXPECT_EQ(synaptic_efficiency(1.0, 0.0), 0.0);
}

}  // namespace
}  // namespace homeostat
