// Conv2d: hand-computed forward with stride and padding, shape validation, finite-difference
// gradients through conv -> pool -> LIF -> dense -> LIF (smooth spikes, double precision),
// the chunked GEMM path against the single-GEMM path, and float against double.
#include <gtest/gtest.h>

#include <cmath>

#include "common/error.hpp"
#include "gradient_check.hpp"
#include "layer/conv2d.hpp"
#include "layer/dense.hpp"
#include "layer/pool.hpp"
#include "layer/spiking.hpp"

namespace homeostat {
namespace {

using testing::expect_gradients_match;
using testing::random_tensor;

using testing::normal_init;

using testing::smooth_spec;

TEST(Conv2dForward, HandComputedStrideTwoPaddingOne) {
  // One 3x3 image 1..9, kernel 3, stride 2, padding 1: four windows centred on the corners.
  Conv2dLayer<double> conv("conv", {1, 3, 3}, 1, 3, 2, 1, true, {}, 1, 0);
  ASSERT_EQ(conv.output_shape(), (Shape{1, 2, 2}));
  const double kernel[9] = {1, 0, -1,  //
                            2, 1, 0,   //
                            0, 1, 3};
  for (std::size_t i = 0; i < 9; ++i) conv.weight().value[i] = kernel[i];
  conv.parameters()[1]->value[0] = 0.5;
  Tensor<double> input({1, 1, 1, 3, 3});
  for (std::size_t i = 0; i < 9; ++i) input[i] = static_cast<double>(i + 1);
  Tensor<double> output;
  conv.forward(input, output, {});
  ASSERT_EQ(output.shape(), (Shape{1, 1, 1, 2, 2}));
  // Padded image rows: [0 0 0 0 0], [0 1 2 3 0], [0 4 5 6 0], [0 7 8 9 0], [0 0 0 0 0].
  // (0,0): rows 0-2, cols 0-2: 0 + 2*0+1*1+0*2 + 0+1*4+3*5 = 20
  // (0,1): rows 0-2, cols 2-4: -1*0 + 2*2+1*3+0 + 0*5+1*6+3*0 = 13 (top row all padding)
  // (1,0): rows 2-4, cols 0-2: 1*0+0*4-1*5 + 2*0+1*7+0*8 + 0 = 2
  // (1,1): rows 2-4, cols 2-4: 1*5+0*6-1*0 + 2*8+1*9+0*0 + 0 = 30
  const double expected[4] = {20, 13, 2, 30};
  for (std::size_t i = 0; i < 4; ++i) EXPECT_DOUBLE_EQ(output[i], expected[i] + 0.5) << i;
}

TEST(Conv2dForward, ChannelsAndImagesKeepTheirLayout) {
  // Two input channels, two output channels, kernel 2, no padding, over T=2, B=1 images: the
  // second image is the first doubled, so (without bias) its output doubles too.
  Conv2dLayer<double> conv("conv", {2, 2, 3}, 2, 2, 1, 0, false, {}, 1, 0);
  ASSERT_EQ(conv.output_shape(), (Shape{2, 1, 2}));
  ASSERT_EQ(conv.parameters().size(), 1u);
  Tensor<double>& w = conv.weight().value;  // [o, c, u, v]
  w.zero();
  w[0] = 1;                   // o0 <- c0 (0,0)
  w[1 * 8 + 4 + 3] = 2;       // o1 <- c1 (1,1)
  w[1 * 8 + 0 * 4 + 1] = -1;  // o1 <- c0 (0,1)
  Tensor<double> input({2, 1, 2, 2, 3});
  // channel 0: [1 2 3; 4 5 6], channel 1: [10 20 30; 40 50 60]
  const double image[12] = {1, 2, 3, 4, 5, 6, 10, 20, 30, 40, 50, 60};
  for (std::size_t i = 0; i < 12; ++i) {
    input[i] = image[i];
    input[12 + i] = 2 * image[i];
  }
  Tensor<double> output;
  conv.forward(input, output, {});
  ASSERT_EQ(output.shape(), (Shape{2, 1, 2, 1, 2}));
  // o0 = c0 at window corner: 1, 2; o1 = 2 * c1(1,1 of window) - c0(0,1 of window):
  //   window 0: 2*50 - 2 = 98, window 1: 2*60 - 3 = 117.
  const double expected[4] = {1, 2, 98, 117};
  for (std::size_t i = 0; i < 4; ++i) {
    EXPECT_DOUBLE_EQ(output[i], expected[i]) << i;
    EXPECT_DOUBLE_EQ(output[4 + i], 2 * expected[i]) << i;
  }
}

TEST(Conv2dConfig, RejectsEmptyOutputAndNon3dInput) {
  EXPECT_THROW(Conv2dLayer<double>("c", {3, 2, 2}, 4, 5, 1, 1, true, {}, 1, 0), ConfigError);
  EXPECT_THROW(Conv2dLayer<double>("c", {12}, 4, 3, 1, 1, true, {}, 1, 0), ConfigError);
  EXPECT_THROW(Conv2dLayer<double>("c", {1, 3, 3}, 0, 3, 1, 1, true, {}, 1, 0), ConfigError);
  EXPECT_THROW(Conv2dLayer<double>("c", {1, 3, 3}, 2, 3, 0, 1, true, {}, 1, 0), ConfigError);
  try {
    Conv2dLayer<double>("conv7", {3, 2, 2}, 4, 5, 1, 1, true, {}, 1, 0);
    FAIL() << "no ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("conv7"), std::string::npos) << e.what();
  }
  // Borders: kernel 3 on 2x2 with padding 1 fits (output 2x2); stride 2 on 5: (5+0-3)/2+1 = 2.
  EXPECT_EQ(Conv2dLayer<double>("c", {1, 2, 2}, 1, 3, 1, 1, true, {}, 1, 0).output_shape(),
            (Shape{1, 2, 2}));
  EXPECT_EQ(Conv2dLayer<double>("c", {1, 5, 6}, 3, 3, 2, 0, true, {}, 1, 0).output_shape(),
            (Shape{3, 2, 2}));
  const Conv2dLayer<double> conv("c", {2, 5, 5}, 3, 3, 1, 1, true, {}, 1, 0);
  EXPECT_EQ(conv.kind(), "conv2d");
  EXPECT_EQ(conv.fan_out_per_input(), 27u);
}

TEST(Conv2dGradient, StrideTwoPaddingOneMaxPool) {
  const NeuronSpec spec = smooth_spec();
  Network<double> net;
  net.add(std::make_unique<Conv2dLayer<double>>("conv", Shape{2, 7, 7}, 3, 3, 2, 1, true,
                                                normal_init(2.0), 11, 0));  // -> {3, 4, 4}
  net.add(std::make_unique<Pool2dLayer<double>>("pool", Shape{3, 4, 4}, PoolKind::max, 2, 0));
  net.add(std::make_unique<SpikingLayer<double>>("lif1", Shape{3, 2, 2}, spec));
  net.add(
      std::make_unique<DenseLayer<double>>("fc", Shape{3, 2, 2}, 4, true, normal_init(2.0), 11, 3));
  net.add(std::make_unique<SpikingLayer<double>>("lif2", Shape{4}, spec));
  expect_gradients_match(net, random_tensor({4, 2, 2, 7, 7}, 21, 0.0, 1.0));
}

TEST(Conv2dGradient, StrideOnePaddingOneAveragePool) {
  const NeuronSpec spec = smooth_spec();
  Network<double> net;
  net.add(std::make_unique<Conv2dLayer<double>>("conv", Shape{2, 4, 4}, 3, 3, 1, 1, true,
                                                normal_init(2.0), 12, 0));  // -> {3, 4, 4}
  net.add(std::make_unique<Pool2dLayer<double>>("pool", Shape{3, 4, 4}, PoolKind::average, 2, 2));
  net.add(std::make_unique<SpikingLayer<double>>("lif1", Shape{3, 2, 2}, spec));
  net.add(
      std::make_unique<DenseLayer<double>>("fc", Shape{3, 2, 2}, 4, true, normal_init(2.0), 12, 3));
  net.add(std::make_unique<SpikingLayer<double>>("lif2", Shape{4}, spec));
  expect_gradients_match(net, random_tensor({4, 2, 2, 4, 4}, 22, 0.0, 1.0));
}

TEST(Conv2dGradient, TwoConvLayersCheckTheInputGradient) {
  // The second conv's input gradient (col2im, stride 2, padding 1) reaches the first conv.
  const NeuronSpec spec = smooth_spec();
  Network<double> net;
  net.add(std::make_unique<Conv2dLayer<double>>("conv1", Shape{1, 6, 6}, 2, 3, 1, 1, true,
                                                normal_init(2.0), 13, 0));  // -> {2, 6, 6}
  net.add(std::make_unique<SpikingLayer<double>>("lif1", Shape{2, 6, 6}, spec));
  net.add(std::make_unique<Conv2dLayer<double>>("conv2", Shape{2, 6, 6}, 3, 3, 2, 1, true,
                                                normal_init(2.0), 13, 2));  // -> {3, 3, 3}
  net.add(std::make_unique<SpikingLayer<double>>("lif2", Shape{3, 3, 3}, spec));
  expect_gradients_match(net, random_tensor({4, 2, 1, 6, 6}, 23, 0.0, 1.0));
}

// Forward and all gradients of one conv layer for a fixed input and output gradient.
struct ConvRun {
  Tensor<double> output, grad_input, grad_weight, grad_bias;
};

ConvRun run_conv(std::size_t column_buffer_limit) {
  Conv2dLayer<double> conv("conv", {3, 6, 5}, 4, 3, 2, 1, true, normal_init(1.0), 5, 0);
  conv.set_column_buffer_limit(column_buffer_limit);
  const Tensor<double> input = random_tensor({3, 2, 3, 6, 5}, 31, -1.0, 1.0);
  ConvRun run;
  conv.forward(input, run.output, {});
  const Tensor<double> grad_output = random_tensor(run.output.shape(), 32, -1.0, 1.0);
  conv.backward(input, run.output, grad_output, &run.grad_input);
  run.grad_weight = conv.parameters()[0]->grad;
  run.grad_bias = conv.parameters()[1]->grad;
  return run;
}

TEST(Conv2dChunking, ChunkedGemmMatchesOneGemm) {
  const ConvRun whole = run_conv(std::size_t{256} << 20);
  // 1 byte forces one image per chunk; 4 images' worth of 6 leaves a ragged last chunk (4 + 2).
  const std::size_t image_bytes = 3 * 3 * 27 * sizeof(double);  // pixels * patch * bytes
  for (const std::size_t limit : {std::size_t{1}, 4 * image_bytes}) {
    const ConvRun chunked = run_conv(limit);
    const auto expect_near = [&](const Tensor<double>& a, const Tensor<double>& b,
                                 const char* what) {
      ASSERT_EQ(a.shape(), b.shape()) << what;
      for (std::size_t i = 0; i < a.size(); ++i) {
        EXPECT_NEAR(a[i], b[i], 1e-12 * (1 + std::abs(a[i]))) << what << "[" << i << "]";
      }
    };
    expect_near(whole.output, chunked.output, "output");
    expect_near(whole.grad_input, chunked.grad_input, "grad_input");
    expect_near(whole.grad_weight, chunked.grad_weight, "grad_weight");
    expect_near(whole.grad_bias, chunked.grad_bias, "grad_bias");
  }
}

TEST(Conv2dPrecision, FloatForwardMatchesDouble) {
  const InitSpec init{};
  Conv2dLayer<double> conv_double("conv", {3, 8, 8}, 4, 3, 2, 1, true, init, 9, 0);
  Conv2dLayer<float> conv_float("conv", {3, 8, 8}, 4, 3, 2, 1, true, init, 9, 0);
  const Tensor<double> input = random_tensor({3, 2, 3, 8, 8}, 41, -1.0, 1.0);
  Tensor<float> input_float(input.shape());
  for (std::size_t i = 0; i < input.size(); ++i) input_float[i] = static_cast<float>(input[i]);
  Tensor<double> out_double;
  Tensor<float> out_float;
  conv_double.forward(input, out_double, {});
  conv_float.forward(input_float, out_float, {});
  ASSERT_EQ(out_double.shape(), out_float.shape());
  double largest = 0.0;
  for (std::size_t i = 0; i < out_double.size(); ++i) {
    largest = std::max(largest, std::abs(out_double[i]));
    EXPECT_NEAR(static_cast<double>(out_float[i]), out_double[i], 1e-5) << i;
  }
  EXPECT_GT(largest, 0.1);  // not vacuous
}

}  // namespace
}  // namespace homeostat
