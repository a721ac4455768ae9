// Fused conv2d + maxpool (layer/conv_pool.hpp): bit-identical to conv2d followed by maxpool
// (outputs, parameter and input gradients; ties in the windows, overlapping windows, padding,
// ragged chunks), finite-difference gradients in double precision, the builder's fusion (indices
// and names kept, less activation memory, the same bits as unfused), 1 vs 2 threads, and the
// fuse_pool config key.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <vector>

#include "config/config_reader.hpp"
#include "config/experiment_reader.hpp"
#include "gradient_check.hpp"
#include "layer/conv2d.hpp"
#include "layer/conv_pool.hpp"
#include "layer/dense.hpp"
#include "layer/pool.hpp"
#include "layer/spiking.hpp"
#include "network/builder.hpp"
#include "tensor/blas.hpp"

namespace homeostat {
namespace {

using testing::expect_gradients_match;
using testing::normal_init;
using testing::random_tensor;
using testing::smooth_spec;

template <typename Real>
bool same_bits(const Tensor<Real>& a, const Tensor<Real>& b) {
  return a.shape() == b.shape() && std::equal(a.span().begin(), a.span().end(), b.span().begin());
}

struct FusionCase {
  Shape input;  // {C_in, H, W}
  std::size_t channels, kernel, stride, padding, pool, pool_stride;
  bool bias;
  std::size_t column_limit;  // bytes; small values give ragged and one-image chunks
  bool ties;                 // binary input and integer weights: many equal window entries
};

Tensor<float> case_input(const FusionCase& c, std::size_t steps, std::size_t batch,
                         std::uint64_t key) {
  Shape shape{steps, batch};
  shape.insert(shape.end(), c.input.begin(), c.input.end());
  const Tensor<double> source = random_tensor(shape, key, -1.0, 1.0);
  Tensor<float> x(shape);
  for (std::size_t i = 0; i < x.size(); ++i) {
    x[i] = c.ties ? (source[i] > 0.3 ? 1.0f : 0.0f) : static_cast<float>(source[i]);
  }
  return x;
}

std::unique_ptr<Conv2dLayer<float>> make_conv(const FusionCase& c) {
  auto conv = std::make_unique<Conv2dLayer<float>>("conv", c.input, c.channels, c.kernel, c.stride,
                                                   c.padding, c.bias, normal_init(2.0), 17, 0);
  conv->set_column_buffer_limit(c.column_limit);
  if (c.ties) {  // weights in {-1, 0, 1}, bias 0.5: conv outputs are exact and often equal
    Tensor<float>& w = conv->weight().value;
    for (std::size_t i = 0; i < w.size(); ++i)
      w[i] = static_cast<float>(static_cast<int>(i % 3) - 1);
    if (c.bias) conv->parameters()[1]->value.fill(0.5f);
  }
  return conv;
}

void expect_fused_matches_unfused(const FusionCase& c) {
  const Tensor<float> input = case_input(c, 3, 5, 71);
  auto conv = make_conv(c);
  Pool2dLayer<float> pool("pool", conv->output_shape(), PoolKind::max, c.pool, c.pool_stride);
  ConvPoolLayer<float> fused(make_conv(c), pool.output_shape(), c.pool, c.pool_stride);

  Tensor<float> conv_out, pooled, fused_out;
  conv->forward(input, conv_out, {});
  pool.forward(conv_out, pooled, {});
  fused.forward(input, fused_out, {});
  ASSERT_TRUE(same_bits(pooled, fused_out));

  if (c.ties) {  // not vacuous: some window has a tie
    const std::size_t planes =
        conv_out.size() / (conv->output_shape()[1] * conv->output_shape()[2]);
    std::size_t ties = 0;
    const std::size_t w = conv->output_shape()[2];
    for (std::size_t p = 0; p < planes; ++p) {
      const float* plane = conv_out.data() + p * conv->output_shape()[1] * w;
      ties += plane[0] == plane[1] || plane[0] == plane[w] ? 1 : 0;
    }
    EXPECT_GT(ties, planes / 10);
  }

  Tensor<float> grad_output(pooled.shape());
  const Tensor<double> g = random_tensor(pooled.shape(), 72, -1.0, 1.0);
  for (std::size_t i = 0; i < g.size(); ++i) grad_output[i] = static_cast<float>(g[i]);
  Tensor<float> grad_pooled_in, grad_input, fused_grad_input;
  pool.backward(conv_out, pooled, grad_output, &grad_pooled_in);
  conv->backward(input, conv_out, grad_pooled_in, &grad_input);
  fused.backward(input, fused_out, grad_output, &fused_grad_input);
  EXPECT_TRUE(same_bits(grad_input, fused_grad_input));
  const auto unfused_params = conv->parameters();
  const auto fused_params = fused.parameters();
  ASSERT_EQ(unfused_params.size(), fused_params.size());
  for (std::size_t k = 0; k < fused_params.size(); ++k) {
    EXPECT_TRUE(same_bits(unfused_params[k]->grad, fused_params[k]->grad)) << fused_params[k]->name;
    double largest = 0;
    for (const float v : fused_params[k]->grad.span())
      largest = std::max(largest, double{std::abs(v)});
    EXPECT_GT(largest, 1e-3) << "vacuous gradient of " << fused_params[k]->name;
  }
}

TEST(ConvPoolFusion, MatchesConvThenPoolBitForBit) {
  expect_fused_matches_unfused({{1, 12, 12}, 4, 3, 1, 0, 2, 0, true, 4 << 20, false});
}

TEST(ConvPoolFusion, MatchesWithTiesInEveryWindow) {
  expect_fused_matches_unfused({{2, 10, 10}, 5, 3, 1, 1, 2, 0, true, 4 << 20, true});
  expect_fused_matches_unfused({{2, 10, 10}, 5, 3, 1, 1, 2, 0, false, 4 << 20, true});
}

TEST(ConvPoolFusion, MatchesWithOverlappingWindowsAndRemainders) {
  // 11x11 -> conv k3 s1 -> 9x9 -> pool 3 stride 2 -> 4x4 (overlapping), and 9x9 -> pool 2 -> 4x4
  // (floor mode drops the last row and column).
  expect_fused_matches_unfused({{3, 11, 11}, 6, 3, 1, 0, 3, 2, true, 4 << 20, true});
  expect_fused_matches_unfused({{3, 11, 11}, 6, 3, 1, 0, 2, 0, true, 4 << 20, false});
}

TEST(ConvPoolFusion, MatchesWithStridedConvAndRaggedChunks) {
  // 3 KB of columns: a few images per chunk, the last chunk ragged; 1 byte: one image a chunk.
  expect_fused_matches_unfused({{2, 13, 13}, 4, 3, 2, 1, 2, 0, true, 3000, false});
  expect_fused_matches_unfused({{2, 13, 13}, 4, 3, 2, 1, 2, 0, true, 1, true});
}

// conv (1x1, so the fused layer's input gradient is checked through its parameters) -> fused
// conv + pool -> pass-through -> LIF -> dense -> LIF, differentiable neurons.
void check_fused_gradients(std::size_t pool, std::size_t pool_stride, std::uint64_t key) {
  const NeuronSpec spec = smooth_spec();
  Network<double> net;
  net.add(std::make_unique<Conv2dLayer<double>>("conv0", Shape{2, 7, 7}, 2, 1, 1, 0, true,
                                                normal_init(2.0), key, 0));
  auto conv = std::make_unique<Conv2dLayer<double>>("conv1", Shape{2, 7, 7}, 3, 3, 1, 1, true,
                                                    normal_init(2.0), key, 1);  // -> {3, 7, 7}
  conv->set_column_buffer_limit(2000);
  const Pool2dLayer<double> shape_of("pool1", conv->output_shape(), PoolKind::max, pool,
                                     pool_stride);
  const Shape pooled = shape_of.output_shape();
  net.add(std::make_unique<ConvPoolLayer<double>>(std::move(conv), pooled, pool, pool_stride));
  net.add(std::make_unique<PassThroughLayer<double>>("pool1", pooled, "maxpool"));
  net.add(std::make_unique<SpikingLayer<double>>("lif1", pooled, spec));
  net.add(std::make_unique<DenseLayer<double>>("fc", pooled, 4, true, normal_init(2.0), key, 4));
  net.add(std::make_unique<SpikingLayer<double>>("lif2", Shape{4}, spec));
  expect_gradients_match(net, random_tensor({4, 2, 2, 7, 7}, key, 0.0, 1.0));
}

TEST(ConvPoolGradient, FiniteDifferencesTwoByTwo) { check_fused_gradients(2, 0, 81); }
TEST(ConvPoolGradient, FiniteDifferencesOverlappingWindows) { check_fused_gradients(3, 2, 82); }

// A W3-like net from layer specs: conv -> maxpool -> lif -> conv -> maxpool -> lif -> dense -> lif.
std::vector<LayerSpec> w3_like(bool fuse) {
  std::vector<LayerSpec> specs(8);
  const LayerKind kinds[] = {LayerKind::conv2d, LayerKind::maxpool, LayerKind::lif,
                             LayerKind::conv2d, LayerKind::maxpool, LayerKind::lif,
                             LayerKind::dense,  LayerKind::lif};
  const char* names[] = {"conv1", "pool1", "lif1", "conv2", "pool2", "lif2", "fc", "out"};
  for (std::size_t i = 0; i < specs.size(); ++i) {
    specs[i].kind = kinds[i];
    specs[i].name = names[i];
    specs[i].fuse_pool = fuse;
    specs[i].init = normal_init(2.0);
  }
  specs[0].channels = 4;
  specs[3].channels = 6;
  specs[3].padding = 1;
  specs[6].units = 3;
  return specs;
}

template <typename Real = float>
struct PassResult {
  std::vector<Tensor<Real>> outputs;
  std::vector<Real> gradients;
  std::size_t activation_bytes;
};

// Rounds v to a multiple of 2^-bits: sums of products of such values are exact in double.
double to_dyadic(double v, int bits) { return std::ldexp(std::round(std::ldexp(v, bits)), -bits); }

// `dyadic`: weights on a 2^-10 grid and inputs on a 2^-8 grid, so that every convolution sum is
// exact in double and the same in any summation order (see EventPathComputesTheGemmPathsGradients).
template <typename Real = float>
PassResult<Real> one_pass(bool fuse, int threads, bool events = false, bool dyadic = false) {
  const int previous = thread_count();
  set_thread_count(threads);
  Network<Real> net = build_network<Real>(w3_like(fuse), {1, 12, 12}, 5, 3);
  if (events) {  // both convolutions on the event-driven forward and weight gradient
    for (const std::size_t i : {0, 3}) {
      auto& layer = dynamic_cast<ConvPoolLayer<Real>&>(net.layer(i));
      layer.conv().set_event_forward(Conv2dLayer<Real>::EventForward::always);
      layer.conv().set_direct(false);              // conv1 would take the direct path
      layer.conv().set_column_buffer_limit(3000);  // many chunks and groups
    }
  }
  if (dyadic) {
    for (Parameter<Real>* p : net.parameters()) {
      for (Real& v : p->value.span()) v = static_cast<Real>(to_dyadic(v, 10));
    }
  }
  Tensor<Real> input({5, 7, 1, 12, 12});
  const Tensor<double> source = random_tensor(input.shape(), 91, 0.0, 3.0);
  for (std::size_t i = 0; i < input.size(); ++i) {
    input[i] = static_cast<Real>(dyadic ? to_dyadic(source[i], 8) : source[i]);
  }
  PassResult<Real> result;
  net.zero_grad();
  const Tensor<Real>& output = net.forward(input, {});
  Tensor<Real> grad_output(output.shape());
  const Tensor<double> g = random_tensor(output.shape(), 92, -1.0, 1.0);
  for (std::size_t i = 0; i < g.size(); ++i) grad_output[i] = static_cast<Real>(g[i]);
  // Outputs after pooling and later (the conv outputs differ by design).
  for (const std::size_t i : {1, 2, 4, 5, 7}) result.outputs.push_back(net.output(i));
  result.activation_bytes = net.activation_bytes();
  net.backward(grad_output);
  for (Parameter<Real>* p : net.parameters()) {
    result.gradients.insert(result.gradients.end(), p->grad.span().begin(), p->grad.span().end());
  }
  set_thread_count(previous);
  return result;
}

TEST(ConvPoolNetwork, BuilderKeepsIndicesAndNames) {
  Network<float> fused = build_network<float>(w3_like(true), {1, 12, 12}, 5, 3);
  Network<float> plain = build_network<float>(w3_like(false), {1, 12, 12}, 5, 3);
  ASSERT_EQ(fused.layer_count(), plain.layer_count());
  for (std::size_t i = 0; i < fused.layer_count(); ++i) {
    EXPECT_EQ(fused.layer(i).name(), plain.layer(i).name());
    if (i != 0 && i != 3) {
      EXPECT_EQ(fused.layer(i).output_shape(), plain.layer(i).output_shape());
    }
  }
  EXPECT_EQ(fused.layer(0).kind(), "conv2d_maxpool");
  EXPECT_EQ(fused.layer(1).kind(), "maxpool");
  EXPECT_EQ(plain.layer(0).kind(), "conv2d");
  EXPECT_EQ(fused.spiking_layers(), plain.spiking_layers());
  EXPECT_EQ(fused.parameters().size(), plain.parameters().size());
}

TEST(ConvPoolNetwork, FusedNetworkGivesTheUnfusedBitsWithLessMemory) {
  const PassResult<> fused = one_pass(true, 2);
  const PassResult<> plain = one_pass(false, 2);
  ASSERT_EQ(fused.outputs.size(), plain.outputs.size());
  for (std::size_t k = 0; k < fused.outputs.size(); ++k) {
    EXPECT_TRUE(same_bits(fused.outputs[k], plain.outputs[k])) << k;
  }
  EXPECT_EQ(fused.gradients, plain.gradients);
  EXPECT_LT(fused.activation_bytes, plain.activation_bytes);
  double spikes = 0;
  for (const float v : fused.outputs[1].span()) spikes += v;
  EXPECT_GT(spikes, 0.0);
}

TEST(ConvPoolNetwork, OneAndTwoThreadsGiveTheSameBits) {
  const PassResult<> one = one_pass(true, 1);
  const PassResult<> two = one_pass(true, 2);
  for (std::size_t k = 0; k < one.outputs.size(); ++k) {
    EXPECT_TRUE(same_bits(one.outputs[k], two.outputs[k])) << k;
  }
  EXPECT_EQ(one.gradients, two.gradients);
}

TEST(ConvPoolNetwork, EventPathsGiveTheSameBitsForOneAndTwoThreads) {
  const PassResult<> one = one_pass(true, 1, true);
  const PassResult<> two = one_pass(true, 2, true);
  for (std::size_t k = 0; k < one.outputs.size(); ++k) {
    EXPECT_TRUE(same_bits(one.outputs[k], two.outputs[k])) << k;
  }
  EXPECT_EQ(one.gradients, two.gradients);
}

// The event path computes what the GEMM path computes, in another summation order. Compared in
// double with weights and inputs on dyadic grids (2^-10, 2^-8): every convolution sum is then
// exact, so both paths give the same currents, the same spikes and, above all, the same max-pool
// winners whatever BLAS kernels run. (With arbitrary values, two positions of a pooling window that
// see the same spike pattern tie up to the last bit, and a kernel's summation order picks the
// winner; a flipped winner moves a gradient by O(1).) The weight gradients multiply continuous
// output gradients, so they differ only by rounding: a few units of 1e-16 per sum, far inside
// 1e-9 relative, while a wrong index or a missed event (an O(1) difference) fails it.
TEST(ConvPoolNetwork, EventPathComputesTheGemmPathsGradients) {
  const PassResult<double> events = one_pass<double>(true, 2, true, true);
  const PassResult<double> gemm = one_pass<double>(true, 2, false, true);
  // outputs: pool1, lif1, pool2, lif2, out.
  for (std::size_t k = 0; k < gemm.outputs.size(); ++k) {
    EXPECT_TRUE(same_bits(events.outputs[k], gemm.outputs[k])) << k;
  }
  ASSERT_EQ(gemm.gradients.size(), events.gradients.size());
  double worst = 0, largest = 0;
  for (std::size_t i = 0; i < gemm.gradients.size(); ++i) {
    worst = std::max(worst, std::abs(gemm.gradients[i] - events.gradients[i]));
    largest = std::max(largest, std::abs(gemm.gradients[i]));
  }
  EXPECT_LT(worst / largest, 1e-9);
  EXPECT_GT(largest, 1e-3);
}

TEST(ConvPoolConfig, FusePoolKeyIsReadAndDefaultsToTrue) {
  const auto parse = [](const std::string& extra) {
    const std::string text =
        "name = \"t\"\n[data]\nview = \"image\"\ntime_steps = 4\n[[network.layers]]\nkind = "
        "\"conv2d\"\nchannels = "
        "2\n" +
        extra +
        "[[network.layers]]\nkind = \"maxpool\"\n[[network.layers]]\nkind = \"lif\"\n"
        "[[network.layers]]\nkind = \"dense\"\nunits = 10\n";
    return parse_experiment(parse_config_string(text, "t.toml"));
  };
  EXPECT_TRUE(parse("").layers[0].fuse_pool);
  EXPECT_FALSE(parse("fuse_pool = false\n").layers[0].fuse_pool);
}

}  // namespace
}  // namespace homeostat
