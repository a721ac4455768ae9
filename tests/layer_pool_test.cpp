// Pool2d: hand-computed max/average outputs and gradients (first-maximum routing, overlapping
// windows, floor mode), shape validation, finite-difference gradients behind a conv layer, and
// thread-count independence.
#include <gtest/gtest.h>

#include "common/error.hpp"
#include "gradient_check.hpp"
#include "layer/conv2d.hpp"
#include "layer/dense.hpp"
#include "layer/pool.hpp"
#include "layer/spiking.hpp"
#include "tensor/blas.hpp"

namespace homeostat {
namespace {

using testing::expect_gradients_match;
using testing::random_tensor;

// One 4x4 plane with ties: the window {2, 0, 8, 8} and the 9s at (2,1) and (3,0).
constexpr double kPlane[16] = {1, 5, 2, 0,  //
                               3, 4, 8, 8,  //
                               0, 9, 7, 1,  //
                               9, 2, 3, 6};

// [T=1, B=2, C=2, 4, 4]: channel 1 is channel 0 + 10, sample 1 is sample 0 + 100.
Tensor<double> tied_input() {
  Tensor<double> input({1, 2, 2, 4, 4});
  for (std::size_t sample = 0; sample < 2; ++sample) {
    for (std::size_t channel = 0; channel < 2; ++channel) {
      for (std::size_t i = 0; i < 16; ++i) {
        input[(sample * 2 + channel) * 16 + i] =
            kPlane[i] + 10.0 * static_cast<double>(channel) + 100.0 * static_cast<double>(sample);
      }
    }
  }
  return input;
}

Tensor<double> ramp_gradient(const Shape& shape) {
  Tensor<double> grad(shape);
  for (std::size_t i = 0; i < grad.size(); ++i) grad[i] = static_cast<double>(i + 1);
  return grad;
}

TEST(Pool2dForward, MaxPoolingRoutesToTheFirstMaximum) {
  Pool2dLayer<double> pool("pool", {2, 4, 4}, PoolKind::max, 2, 0);  // stride 0: = size
  EXPECT_EQ(pool.kind(), "maxpool");
  ASSERT_EQ(pool.output_shape(), (Shape{2, 2, 2}));
  const Tensor<double> input = tied_input();
  Tensor<double> output;
  pool.forward(input, output, {});
  ASSERT_EQ(output.shape(), (Shape{1, 2, 2, 2, 2}));
  const double window_max[4] = {5, 8, 9, 7};
  for (std::size_t plane = 0; plane < 4; ++plane) {
    const double shift =
        10.0 * static_cast<double>(plane % 2) + 100.0 * static_cast<double>(plane / 2);
    for (std::size_t o = 0; o < 4; ++o)
      EXPECT_DOUBLE_EQ(output[plane * 4 + o], window_max[o] + shift);
  }

  const Tensor<double> grad_output = ramp_gradient(output.shape());
  Tensor<double> grad_input;
  pool.backward(input, output, grad_output, &grad_input);
  ASSERT_EQ(grad_input.shape(), input.shape());
  for (std::size_t plane = 0; plane < 4; ++plane) {
    const double* dy = grad_output.data() + plane * 4;
    double expected[16] = {};
    expected[1] = dy[0];   // 5
    expected[6] = dy[1];   // first of the tied 8s at (1,2); (1,3) gets nothing
    expected[9] = dy[2];   // first of the tied 9s at (2,1); (3,0) gets nothing
    expected[10] = dy[3];  // 7
    for (std::size_t i = 0; i < 16; ++i) {
      EXPECT_DOUBLE_EQ(grad_input[plane * 16 + i], expected[i]) << "plane " << plane << " @" << i;
    }
  }
}

TEST(Pool2dForward, OverlappingMaxWindowsAccumulateIntoOneInput) {
  // Size 3, stride 1: every window's first maximum is the 9 at (2,1), so it collects all four.
  Pool2dLayer<double> pool("pool", {1, 4, 4}, PoolKind::max, 3, 1);
  Tensor<double> input({1, 1, 1, 4, 4});
  for (std::size_t i = 0; i < 16; ++i) input[i] = kPlane[i];
  Tensor<double> output;
  pool.forward(input, output, {});
  ASSERT_EQ(output.shape(), (Shape{1, 1, 1, 2, 2}));
  for (std::size_t o = 0; o < 4; ++o) EXPECT_DOUBLE_EQ(output[o], 9.0);
  Tensor<double> grad_input;
  pool.backward(input, output, ramp_gradient(output.shape()), &grad_input);
  for (std::size_t i = 0; i < 16; ++i) EXPECT_DOUBLE_EQ(grad_input[i], i == 9 ? 10.0 : 0.0) << i;
}

TEST(Pool2dForward, AveragePoolingSpreadsTheGradientEvenly) {
  Pool2dLayer<double> pool("pool", {2, 4, 4}, PoolKind::average, 2, 2);
  EXPECT_EQ(pool.kind(), "avgpool");
  const Tensor<double> input = tied_input();
  Tensor<double> output;
  pool.forward(input, output, {});
  const double window_mean[4] = {13.0 / 4, 18.0 / 4, 20.0 / 4, 17.0 / 4};
  for (std::size_t plane = 0; plane < 4; ++plane) {
    const double shift =
        10.0 * static_cast<double>(plane % 2) + 100.0 * static_cast<double>(plane / 2);
    for (std::size_t o = 0; o < 4; ++o)
      EXPECT_DOUBLE_EQ(output[plane * 4 + o], window_mean[o] + shift);
  }
  const Tensor<double> grad_output = ramp_gradient(output.shape());
  Tensor<double> grad_input;
  pool.backward(input, output, grad_output, &grad_input);
  for (std::size_t plane = 0; plane < 4; ++plane) {
    for (std::size_t h = 0; h < 4; ++h) {
      for (std::size_t w = 0; w < 4; ++w) {
        const double dy = grad_output[plane * 4 + (h / 2) * 2 + w / 2];
        EXPECT_DOUBLE_EQ(grad_input[plane * 16 + h * 4 + w], dy / 4) << plane << " " << h << w;
      }
    }
  }
}

TEST(Pool2dForward, FloorModeDropsTheRemainder) {
  // 3x5 plane, window 2: one row and one column of windows are incomplete and dropped.
  Pool2dLayer<double> pool("pool", {1, 3, 5}, PoolKind::average, 2, 0);
  ASSERT_EQ(pool.output_shape(), (Shape{1, 1, 2}));
  Tensor<double> input({1, 1, 1, 3, 5});
  for (std::size_t i = 0; i < 15; ++i) input[i] = static_cast<double>(i);
  Tensor<double> output;
  pool.forward(input, output, {});
  EXPECT_DOUBLE_EQ(output[0], (0 + 1 + 5 + 6) / 4.0);
  EXPECT_DOUBLE_EQ(output[1], (2 + 3 + 7 + 8) / 4.0);
  Tensor<double> grad_input;
  pool.backward(input, output, ramp_gradient(output.shape()), &grad_input);
  const double expected[15] = {0.25, 0.25, 0.5, 0.5, 0,  //
                               0.25, 0.25, 0.5, 0.5, 0,  //
                               0,    0,    0,   0,   0};
  for (std::size_t i = 0; i < 15; ++i) EXPECT_DOUBLE_EQ(grad_input[i], expected[i]) << i;
}

TEST(Pool2dConfig, RejectsWindowsThatDoNotFit) {
  EXPECT_THROW(Pool2dLayer<double>("p", {2, 3, 3}, PoolKind::max, 4, 0), ConfigError);
  EXPECT_THROW(Pool2dLayer<double>("p", {18}, PoolKind::max, 2, 0), ConfigError);
  EXPECT_THROW(Pool2dLayer<double>("p", {2, 3, 3}, PoolKind::average, 0, 1), ConfigError);
  EXPECT_EQ(Pool2dLayer<double>("p", {2, 7, 6}, PoolKind::max, 3, 2).output_shape(),
            (Shape{2, 3, 2}));
  // The max window's argmax is one byte: windows up to 16 x 16; average pooling has no limit.
  EXPECT_NO_THROW(Pool2dLayer<double>("p", {1, 16, 16}, PoolKind::max, 16, 0));
  EXPECT_THROW(Pool2dLayer<double>("p", {1, 17, 17}, PoolKind::max, 17, 0), ConfigError);
  EXPECT_NO_THROW(Pool2dLayer<double>("p", {1, 17, 17}, PoolKind::average, 17, 0));
}

TEST(Pool2dForward, LastCellOfASixteenWindowWinsAndGetsTheGradient) {
  // One 16x16 plane, maximum in the window's last cell (window index 255 = 15 * 16 + 15).
  Pool2dLayer<double> pool("p", {1, 16, 16}, PoolKind::max, 16, 0);
  Tensor<double> input({1, 1, 1, 16, 16});
  for (std::size_t i = 0; i < input.size(); ++i) input[i] = static_cast<double>(i % 7);
  input[255] = 100.0;
  Tensor<double> output, grad_input;
  pool.forward(input, output, {});
  ASSERT_EQ(output.size(), 1u);
  EXPECT_EQ(output[0], 100.0);
  Tensor<double> grad_output(output.shape());
  grad_output[0] = 2.5;
  pool.backward(input, output, grad_output, &grad_input);
  for (std::size_t i = 0; i < grad_input.size(); ++i) {
    EXPECT_EQ(grad_input[i], i == 255 ? 2.5 : 0.0) << i;
  }
}

using testing::smooth_spec;

using testing::normal_init;

void check_pool_network(PoolKind kind, std::size_t size, std::size_t stride, std::uint64_t key) {
  const NeuronSpec spec = smooth_spec();
  Network<double> net;
  net.add(std::make_unique<Conv2dLayer<double>>("conv", Shape{2, 6, 6}, 3, 3, 1, 1, true,
                                                normal_init(2.0), key, 0));  // -> {3, 6, 6}
  auto pool = std::make_unique<Pool2dLayer<double>>("pool", Shape{3, 6, 6}, kind, size, stride);
  const Shape pooled = pool->output_shape();
  net.add(std::move(pool));
  net.add(std::make_unique<SpikingLayer<double>>("lif1", pooled, spec));
  net.add(std::make_unique<DenseLayer<double>>("fc", pooled, 4, true, normal_init(2.0), key, 3));
  net.add(std::make_unique<SpikingLayer<double>>("lif2", Shape{4}, spec));
  expect_gradients_match(net, random_tensor({4, 2, 2, 6, 6}, key, 0.0, 1.0));
}

TEST(Pool2dGradient, OverlappingMaxWindows) { check_pool_network(PoolKind::max, 3, 2, 51); }

TEST(Pool2dGradient, OverlappingAverageWindowsFloorMode) {
  check_pool_network(PoolKind::average, 4, 1, 52);  // 6x6 -> 3x3
}

TEST(Pool2dGradient, AverageWindowsWithRemainder) {
  check_pool_network(PoolKind::average, 4, 4, 53);  // 6x6 -> 1x1, two rows/cols dropped
}

TEST(Pool2dDeterminism, SameBitsForOneAndTwoThreads) {
  const Tensor<double> input = random_tensor({3, 2, 3, 9, 9}, 54, -1.0, 1.0);
  const auto run = [&](PoolKind kind, int threads) {
    const int previous = thread_count();
    set_thread_count(threads);
    Pool2dLayer<double> pool("pool", {3, 9, 9}, kind, 3, 2);
    Tensor<double> output, grad_input;
    pool.forward(input, output, {});
    pool.backward(input, output, random_tensor(output.shape(), 55, -1.0, 1.0), &grad_input);
    set_thread_count(previous);
    return std::make_pair(output, grad_input);
  };
  for (const PoolKind kind : {PoolKind::max, PoolKind::average}) {
    const auto [out1, grad1] = run(kind, 1);
    const auto [out2, grad2] = run(kind, 2);
    EXPECT_TRUE(std::equal(out1.span().begin(), out1.span().end(), out2.span().begin()));
    EXPECT_TRUE(std::equal(grad1.span().begin(), grad1.span().end(), grad2.span().begin()));
  }
}

}  // namespace
}  // namespace homeostat
