// Direct convolution (layer/conv_direct.hpp): the rule that picks it; the same outputs, weight,
// bias and input gradients as im2col + GEMM to fp32 rounding (spike and real-valued inputs at
// several densities, odd sizes, padding, kernels 1 to 5, several input channels, channel counts
// that are not multiples of the block, bias on and off, ragged chunks); fused with max pooling
// the GEMM path's pooled outputs and gradients, and the first layer's walk over the pooling
// winners gives the bits of the dense gradient walk (unfused conv + maxpool); finite differences
// in double precision.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <vector>

#include "gradient_check.hpp"
#include "layer/conv2d.hpp"
#include "layer/conv_pool.hpp"
#include "layer/dense.hpp"
#include "layer/pool.hpp"
#include "layer/spiking.hpp"

namespace homeostat {
namespace {

using testing::expect_gradients_match;
using testing::normal_init;
using testing::random_tensor;
using testing::smooth_spec;

struct Geometry {
  Shape input;  // {C_in, H, W}
  std::size_t channels, kernel, padding;
  bool bias;
};

// [3, 4] x input with about `density` nonzeros: spikes (1) or, with `valued`, values in (-2, 2).
Tensor<float> make_input(const Geometry& g, double density, bool valued, std::uint64_t key) {
  Shape shape{3, 4};
  shape.insert(shape.end(), g.input.begin(), g.input.end());
  const Tensor<double> pick = random_tensor(shape, key, 0.0, 1.0);
  const Tensor<double> value = random_tensor(shape, key + 1, -2.0, 2.0);
  Tensor<float> x(shape);
  for (std::size_t i = 0; i < x.size(); ++i) {
    x[i] = pick[i] < density ? (valued ? static_cast<float>(value[i]) : 1.0f) : 0.0f;
  }
  return x;
}

Tensor<float> random_float(const Shape& shape, std::uint64_t key) {
  const Tensor<double> source = random_tensor(shape, key, -1.0, 1.0);
  Tensor<float> t(shape);
  for (std::size_t i = 0; i < t.size(); ++i) t[i] = static_cast<float>(source[i]);
  return t;
}

std::unique_ptr<Conv2dLayer<float>> make_conv(const Geometry& g, bool direct) {
  auto conv = std::make_unique<Conv2dLayer<float>>("conv", g.input, g.channels, g.kernel, 1,
                                                   g.padding, g.bias, normal_init(2.0), 5, 0);
  conv->set_column_buffer_limit(20000);  // several chunks, the last one ragged
  EXPECT_TRUE(conv->direct());           // the rule takes every geometry here
  conv->set_direct(direct);
  return conv;
}

// Normwise: the largest difference against the largest entry (fp32 sums in two orders).
void expect_close(std::span<const float> a, std::span<const float> b, double floor,
                  const std::string& what) {
  ASSERT_EQ(a.size(), b.size()) << what;
  double worst = 0, largest = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    worst = std::max(worst, std::abs(double{a[i]} - double{b[i]}));
    largest = std::max(largest, std::abs(double{b[i]}));
  }
  EXPECT_LT(worst / largest, 1e-5) << what;
  EXPECT_GT(largest, floor) << what << " vacuous";
}

struct Pass {
  Tensor<float> output, grad_input;
  std::vector<Tensor<float>> grads;
};

Pass conv_pass(const Geometry& g, const Tensor<float>& x, bool direct) {
  auto conv = make_conv(g, direct);
  Pass pass;
  conv->forward(x, pass.output, {});
  const Tensor<float> grad_output = random_float(pass.output.shape(), 9);
  conv->backward(x, pass.output, grad_output, &pass.grad_input);
  for (Parameter<float>* p : conv->parameters()) pass.grads.push_back(p->grad);
  return pass;
}

void expect_direct_matches_gemm(const Geometry& g) {
  for (const double density : {0.1, 0.3, 1.0}) {
    for (const bool valued : {false, true}) {
      const Tensor<float> x = make_input(g, density, valued, 31);
      const Pass direct = conv_pass(g, x, true);
      const Pass gemm = conv_pass(g, x, false);
      const std::string what = "density " + std::to_string(density) + (valued ? " valued" : "");
      ASSERT_EQ(direct.output.shape(), gemm.output.shape());
      expect_close(direct.output.span(), gemm.output.span(), 0.1, "output, " + what);
      expect_close(direct.grad_input.span(), gemm.grad_input.span(), 1e-3, "dx, " + what);
      ASSERT_EQ(direct.grads.size(), g.bias ? 2u : 1u);
      for (std::size_t k = 0; k < direct.grads.size(); ++k) {
        expect_close(direct.grads[k].span(), gemm.grads[k].span(), 1e-3,
                     (k == 0 ? "dW, " : "db, ") + what);
      }
    }
  }
}

TEST(ConvDirect, RuleTakesSmallPatchesWithFewChannelsAndStrideOne) {
  EXPECT_TRUE(DirectConv<float>::suits(1, 5, 1, 12));  // W3's conv1
  EXPECT_TRUE(DirectConv<float>::suits(3, 3, 1, 32));
  EXPECT_TRUE(DirectConv<float>::suits(32, 1, 1, 8));
  EXPECT_FALSE(DirectConv<float>::suits(12, 5, 1, 64));  // W3's conv2
  EXPECT_FALSE(DirectConv<float>::suits(2, 5, 1, 12));   // 50 taps
  EXPECT_FALSE(DirectConv<float>::suits(1, 5, 2, 12));   // strided
  EXPECT_FALSE(DirectConv<float>::suits(1, 3, 1, 33));   // too many channels
  const Conv2dLayer<float> strided("c", {1, 9, 9}, 4, 3, 2, 0, true, normal_init(2.0), 1, 0);
  EXPECT_FALSE(strided.direct());
}

TEST(ConvDirect, MatchesGemmOnW3sFirstLayer) {
  expect_direct_matches_gemm({{1, 28, 28}, 12, 5, 0, true});
}

TEST(ConvDirect, MatchesGemmWithOddSizesPaddingAndBlockRemainders) {
  expect_direct_matches_gemm({{1, 13, 11}, 7, 5, 2, false});
  expect_direct_matches_gemm({{1, 6, 7}, 2, 2, 1, true});  // even kernel, padding
  expect_direct_matches_gemm({{2, 5, 5}, 5, 4, 0, false});
}

TEST(ConvDirect, MatchesGemmWithSeveralInputChannels) {
  expect_direct_matches_gemm({{2, 9, 10}, 5, 3, 1, true});
  expect_direct_matches_gemm({{3, 7, 8}, 9, 3, 0, true});
  expect_direct_matches_gemm({{32, 6, 5}, 3, 1, 0, true});  // 1x1 kernel, 32 taps
}

TEST(ConvDirect, MatchesGemmWithWideRows) {
  // 40 output columns: whole vectors and a partial one; 32 channels: eight full blocks.
  expect_direct_matches_gemm({{1, 6, 44}, 32, 5, 0, true});
}

struct PoolCase {
  Geometry conv;
  std::size_t pool, pool_stride;
};

std::unique_ptr<ConvPoolLayer<float>> make_fused(const PoolCase& c, bool direct,
                                                 std::unique_ptr<Conv2dLayer<float>> conv = {}) {
  if (!conv) conv = make_conv(c.conv, direct);
  const Pool2dLayer<float> shape_of("pool", conv->output_shape(), PoolKind::max, c.pool,
                                    c.pool_stride);
  return std::make_unique<ConvPoolLayer<float>>(std::move(conv), shape_of.output_shape(), c.pool,
                                                c.pool_stride);
}

// The fused layer as a first layer (no input gradient): the direct path against the GEMM path
// (close), and against the unfused direct conv followed by maxpool (the same bits: the winners
// walk against the dense walk).
void expect_fused_direct(const PoolCase& c) {
  for (const double density : {0.15, 0.3, 1.0}) {
    for (const bool valued : {false, true}) {
      const Tensor<float> x = make_input(c.conv, density, valued, 41);
      const std::string what = "density " + std::to_string(density) + (valued ? " valued" : "");
      auto direct = make_fused(c, true);
      auto gemm = make_fused(c, false);
      Tensor<float> direct_out, gemm_out;
      direct->forward(x, direct_out, {});
      gemm->forward(x, gemm_out, {});
      expect_close(direct_out.span(), gemm_out.span(), 0.1, "pooled, " + what);
      const Tensor<float> grad_output = random_float(direct_out.shape(), 43);
      direct->backward(x, direct_out, grad_output, nullptr);
      gemm->backward(x, gemm_out, grad_output, nullptr);
      const auto direct_params = direct->parameters();
      const auto gemm_params = gemm->parameters();
      for (std::size_t k = 0; k < direct_params.size(); ++k) {
        expect_close(direct_params[k]->grad.span(), gemm_params[k]->grad.span(), 1e-3,
                     direct_params[k]->name + ", " + what);
      }

      auto conv = make_conv(c.conv, true);
      Pool2dLayer<float> pool("pool", conv->output_shape(), PoolKind::max, c.pool, c.pool_stride);
      Tensor<float> conv_out, pooled, grad_pooled_in;
      conv->forward(x, conv_out, {});
      pool.forward(conv_out, pooled, {});
      ASSERT_EQ(pooled.shape(), direct_out.shape());
      EXPECT_TRUE(std::equal(pooled.span().begin(), pooled.span().end(), direct_out.span().begin()))
          << what;
      pool.backward(conv_out, pooled, grad_output, &grad_pooled_in);
      conv->backward(x, conv_out, grad_pooled_in, nullptr);
      const auto unfused_params = conv->parameters();
      for (std::size_t k = 0; k < direct_params.size(); ++k) {
        EXPECT_TRUE(std::equal(unfused_params[k]->grad.span().begin(),
                               unfused_params[k]->grad.span().end(),
                               direct_params[k]->grad.span().begin()))
            << direct_params[k]->name << ", " << what;
      }
    }
  }
}

TEST(ConvDirectPool, W3sFirstLayer) { expect_fused_direct({{{1, 28, 28}, 12, 5, 0, true}, 2, 0}); }

TEST(ConvDirectPool, OddSizesAndFloorRemainders) {
  // 13x11 -> k5 p2 -> 13x11 -> pool 2 -> 6x5 (the last row and column dropped).
  expect_fused_direct({{{1, 13, 11}, 7, 5, 2, false}, 2, 0});
  expect_fused_direct({{{2, 9, 10}, 5, 3, 0, true}, 2, 0});
}

TEST(ConvDirectPool, OtherWindows) {
  expect_fused_direct({{{1, 14, 14}, 6, 3, 1, true}, 3, 0});  // 3x3 windows: the dense walk
  expect_fused_direct({{{1, 11, 11}, 6, 3, 0, true}, 3, 2});  // overlapping: the dense walk
}

TEST(ConvDirectPool, TiesGiveTheUnfusedBits) {
  // Spikes and weights in {-1, 0, 1}: exact sums, many equal window entries; the first maximum
  // wins in both.
  for (const bool bias : {false, true}) {
    const PoolCase c{{{1, 12, 12}, 5, 3, 0, bias}, 2, 0};
    const auto integer_weights = [&]() {
      auto conv = make_conv(c.conv, true);
      Tensor<float>& w = conv->weight().value;
      for (std::size_t i = 0; i < w.size(); ++i) {
        w[i] = static_cast<float>(static_cast<int>(i % 3) - 1);
      }
      return conv;
    };
    const Tensor<float> x = make_input(c.conv, 0.3, false, 47);
    auto fused = make_fused(c, true, integer_weights());
    auto conv = integer_weights();
    Pool2dLayer<float> pool("pool", conv->output_shape(), PoolKind::max, 2, 0);
    Tensor<float> fused_out, conv_out, pooled, grad_pooled_in;
    fused->forward(x, fused_out, {});
    conv->forward(x, conv_out, {});
    pool.forward(conv_out, pooled, {});
    EXPECT_TRUE(std::equal(pooled.span().begin(), pooled.span().end(), fused_out.span().begin()));
    const Tensor<float> grad_output = random_float(pooled.shape(), 49);
    fused->backward(x, fused_out, grad_output, nullptr);
    pool.backward(conv_out, pooled, grad_output, &grad_pooled_in);
    conv->backward(x, conv_out, grad_pooled_in, nullptr);
    EXPECT_TRUE(std::equal(conv->weight().grad.span().begin(), conv->weight().grad.span().end(),
                           fused->conv().weight().grad.span().begin()));
  }
}

// Fused direct conv + pool as the first layer (the winners walk) -> LIF -> dense -> LIF, in
// double precision against finite differences.
void check_direct_gradients(std::size_t pool, std::size_t pool_stride, std::uint64_t key) {
  const NeuronSpec spec = smooth_spec();
  Network<double> net;
  auto conv = std::make_unique<Conv2dLayer<double>>("conv1", Shape{1, 9, 8}, 3, 3, 1, 1, true,
                                                    normal_init(2.0), key, 0);  // -> {3, 9, 8}
  EXPECT_TRUE(conv->direct());
  conv->set_column_buffer_limit(3000);
  const Pool2dLayer<double> shape_of("pool1", conv->output_shape(), PoolKind::max, pool,
                                     pool_stride);
  const Shape pooled = shape_of.output_shape();
  net.add(std::make_unique<ConvPoolLayer<double>>(std::move(conv), pooled, pool, pool_stride));
  net.add(std::make_unique<PassThroughLayer<double>>("pool1", pooled, "maxpool"));
  net.add(std::make_unique<SpikingLayer<double>>("lif1", pooled, spec));
  net.add(std::make_unique<DenseLayer<double>>("fc", pooled, 4, true, normal_init(2.0), key, 3));
  net.add(std::make_unique<SpikingLayer<double>>("lif2", Shape{4}, spec));
  expect_gradients_match(net, random_tensor({4, 2, 1, 9, 8}, key, 0.0, 1.0));
}

TEST(ConvDirectGradient, FiniteDifferencesTwoByTwo) { check_direct_gradients(2, 0, 61); }
TEST(ConvDirectGradient, FiniteDifferencesThreeByThree) { check_direct_gradients(3, 0, 62); }

}  // namespace
}  // namespace homeostat
