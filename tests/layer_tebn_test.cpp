// TEBN: hand-computed batch statistics, running statistics and evaluation mode, the fixed step
// count, finite-difference gradients (conv and dense features, training and evaluation), and
// thread-count independence.
#include <gtest/gtest.h>

#include <cmath>

#include "common/error.hpp"
#include "gradient_check.hpp"
#include "layer/conv2d.hpp"
#include "layer/dense.hpp"
#include "layer/pool.hpp"
#include "layer/spiking.hpp"
#include "layer/tebn.hpp"
#include "tensor/blas.hpp"

namespace homeostat {
namespace {

using testing::expect_gradients_match;
using testing::random_tensor;

constexpr double kEpsilon = 1e-5;

TEST(TebnForward, ConvFeaturesHandComputed) {
  // [T=2, B=1, C=2, H=1, W=2]. Channel 0 over (T, B, H, W): {1, 2, 3, 6}, mean 3, squared
  // deviations 4+1+0+9 = 14, biased variance 3.5, unbiased 14/3. Channel 1: {0, 0, 4, 4}, mean 2,
  // biased variance 4, unbiased 16/3.
  TebnLayer<double> tebn("bn", {2, 1, 2}, 2);
  EXPECT_EQ(tebn.kind(), "tebn");
  const std::vector<Parameter<double>*> params = tebn.parameters();
  ASSERT_EQ(params.size(), 3u);
  EXPECT_EQ(params[0]->name, "bn.gamma");
  EXPECT_EQ(params[1]->name, "bn.beta");
  EXPECT_EQ(params[2]->name, "bn.step_weight");
  EXPECT_EQ(params[2]->value.shape(), (Shape{2}));
  for (const Parameter<double>* p : params) EXPECT_FALSE(p->weight_decay) << p->name;
  const std::vector<StateBuffer<double>> buffers = tebn.state_buffers();
  ASSERT_EQ(buffers.size(), 2u);
  EXPECT_EQ(buffers[0].name, "bn.running_mean");
  EXPECT_EQ(buffers[0].values, &tebn.running_mean());
  EXPECT_EQ(buffers[1].name, "bn.running_var");
  EXPECT_EQ(buffers[1].values, &tebn.running_var());
  const double gamma[2] = {2.0, -1.0};
  const double beta[2] = {0.5, 1.0};
  const double step_weight[2] = {1.0, 0.5};
  for (std::size_t i = 0; i < 2; ++i) {
    params[0]->value[i] = gamma[i];
    params[1]->value[i] = beta[i];
    params[2]->value[i] = step_weight[i];
  }
  Tensor<double> input({2, 1, 2, 1, 2});
  const double values[8] = {1, 2, 0, 0,   // t0: c0, c1
                            3, 6, 4, 4};  // t1: c0, c1
  for (std::size_t i = 0; i < 8; ++i) input[i] = values[i];
  const double mean[2] = {3.0, 2.0};
  const double variance[2] = {3.5, 4.0};

  Tensor<double> output;
  tebn.forward(input, output, {true, 0, 0, 0});
  ASSERT_EQ(output.shape(), input.shape());
  for (std::size_t i = 0; i < 8; ++i) {
    const std::size_t t = i / 4;
    const std::size_t c = (i / 2) % 2;
    const double expected =
        step_weight[t] *
        (gamma[c] * (values[i] - mean[c]) / std::sqrt(variance[c] + kEpsilon) + beta[c]);
    EXPECT_NEAR(output[i], expected, 1e-12) << i;
  }
  // Momentum 0.1 from (mean 0, variance 1), with the unbiased variance.
  const double running_mean[2] = {0.1 * 3.0, 0.1 * 2.0};
  const double running_var[2] = {0.9 + 0.1 * 14.0 / 3.0, 0.9 + 0.1 * 16.0 / 3.0};
  for (std::size_t c = 0; c < 2; ++c) {
    EXPECT_NEAR(tebn.running_mean()[c], running_mean[c], 1e-14) << c;
    EXPECT_NEAR(tebn.running_var()[c], running_var[c], 1e-14) << c;
  }

  // Evaluation normalizes with the running statistics and leaves them alone.
  tebn.forward(input, output, {false, 0, 0, 0});
  for (std::size_t i = 0; i < 8; ++i) {
    const std::size_t t = i / 4;
    const std::size_t c = (i / 2) % 2;
    const double expected =
        step_weight[t] *
        (gamma[c] * (values[i] - running_mean[c]) / std::sqrt(running_var[c] + kEpsilon) + beta[c]);
    EXPECT_NEAR(output[i], expected, 1e-12) << i;
  }
  for (std::size_t c = 0; c < 2; ++c) {
    EXPECT_NEAR(tebn.running_mean()[c], running_mean[c], 1e-14) << c;
    EXPECT_NEAR(tebn.running_var()[c], running_var[c], 1e-14) << c;
  }
}

TEST(TebnForward, DenseFeaturesNormalizeOverStepsAndBatch) {
  // [T=2, B=2, N=3] with default gamma 1, beta 0, p 1: y = (x - mean) / sqrt(var + eps) per
  // feature over its four (t, b) values. Feature 2 is constant: variance 0, output 0.
  TebnLayer<double> tebn("bn", {3}, 2);
  Tensor<double> input({2, 2, 3});
  const double values[12] = {1, 0, 5, 3, 0, 5,   // t0: b0, b1
                             2, 4, 5, 6, 4, 5};  // t1: b0, b1
  for (std::size_t i = 0; i < 12; ++i) input[i] = values[i];
  const double mean[3] = {3.0, 2.0, 5.0};  // {1,3,2,6}, {0,0,4,4}, {5,5,5,5}
  const double variance[3] = {3.5, 4.0, 0.0};
  Tensor<double> output;
  tebn.forward(input, output, {true, 0, 0, 0});
  for (std::size_t i = 0; i < 12; ++i) {
    const std::size_t n = i % 3;
    EXPECT_NEAR(output[i], (values[i] - mean[n]) / std::sqrt(variance[n] + kEpsilon), 1e-12) << i;
  }
}

TEST(TebnConfig, RejectsOtherStepCountsAndShapes) {
  TebnLayer<double> tebn("bn5", {3}, 4);
  Tensor<double> output;
  try {
    tebn.forward(Tensor<double>({3, 2, 3}), output, {true, 0, 0, 0});
    FAIL() << "no ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("bn5"), std::string::npos) << e.what();
  }
  EXPECT_NO_THROW(tebn.forward(Tensor<double>({4, 2, 3}), output, {true, 0, 0, 0}));
  EXPECT_THROW(TebnLayer<double>("bn", {3, 4}, 4), ConfigError);
  EXPECT_THROW(TebnLayer<double>("bn", {3}, 0), ConfigError);
}

using testing::smooth_spec;

using testing::normal_init;

// Moves gamma, beta and the step scales away from their initial 1, 0, 1 so that every term of
// the backward pass is exercised.
void randomize_affine(TebnLayer<double>& tebn, std::uint64_t key) {
  const std::vector<Parameter<double>*> params = tebn.parameters();
  params[0]->value = random_tensor(params[0]->value.shape(), key, 0.5, 1.5);
  params[1]->value = random_tensor(params[1]->value.shape(), key + 1, -0.3, 0.3);
  params[2]->value = random_tensor(params[2]->value.shape(), key + 2, 0.5, 1.5);
}

// Conv2d -> TEBN -> LIF -> AvgPool -> Dense. The conv has no bias: a per-channel constant is
// removed by the normalization, so its gradient would be exactly zero in training.
Network<double> conv_tebn_network(std::size_t steps) {
  Network<double> net;
  net.add(std::make_unique<Conv2dLayer<double>>("conv", Shape{2, 5, 5}, 3, 3, 1, 1, false,
                                                normal_init(1.0), 61, 0));  // -> {3, 5, 5}
  auto tebn = std::make_unique<TebnLayer<double>>("bn", Shape{3, 5, 5}, steps);
  randomize_affine(*tebn, 62);
  net.add(std::move(tebn));
  net.add(std::make_unique<SpikingLayer<double>>("lif", Shape{3, 5, 5}, smooth_spec()));
  net.add(std::make_unique<Pool2dLayer<double>>("pool", Shape{3, 5, 5}, PoolKind::average, 2, 0));
  net.add(
      std::make_unique<DenseLayer<double>>("fc", Shape{3, 2, 2}, 4, true, normal_init(2.0), 61, 4));
  return net;
}

TEST(TebnGradient, ConvFeatures) {
  Network<double> net = conv_tebn_network(4);
  expect_gradients_match(net, random_tensor({4, 2, 2, 5, 5}, 63, 0.0, 1.0));
}

TEST(TebnGradient, ConvFeaturesEvaluationMode) {
  // Training passes give the running statistics non-trivial values; evaluation then treats them
  // as constants, which the finite differences see too.
  Network<double> net = conv_tebn_network(4);
  const Tensor<double> input = random_tensor({4, 2, 2, 5, 5}, 64, 0.0, 1.0);
  for (int pass = 0; pass < 3; ++pass) net.forward(input, {true, 7, 0, 0});
  const auto& tebn = dynamic_cast<const TebnLayer<double>&>(net.layer(1));
  EXPECT_NE(tebn.running_mean()[0], 0.0);
  EXPECT_NE(tebn.running_var()[0], 1.0);
  expect_gradients_match(net, input, {}, testing::projection_loss, {false, 7, 0, 0});
}

TEST(TebnGradient, DenseFeatures) {
  const NeuronSpec spec = smooth_spec();
  Network<double> net;
  net.add(std::make_unique<DenseLayer<double>>("fc1", Shape{5}, 6, false, normal_init(1.5), 65, 0));
  auto tebn = std::make_unique<TebnLayer<double>>("bn", Shape{6}, 4);
  randomize_affine(*tebn, 66);
  net.add(std::move(tebn));
  net.add(std::make_unique<SpikingLayer<double>>("lif1", Shape{6}, spec));
  net.add(std::make_unique<DenseLayer<double>>("fc2", Shape{6}, 3, true, normal_init(2.0), 65, 3));
  net.add(std::make_unique<SpikingLayer<double>>("lif2", Shape{3}, spec));
  expect_gradients_match(net, random_tensor({4, 3, 5}, 67, 0.0, 1.0));
}

TEST(TebnDeterminism, SameBitsForOneAndTwoThreads) {
  const Tensor<double> input = random_tensor({4, 3, 5, 6, 6}, 68, -1.0, 2.0);
  const auto run = [&](int threads) {
    const int previous = thread_count();
    set_thread_count(threads);
    TebnLayer<double> tebn("bn", {5, 6, 6}, 4);
    randomize_affine(tebn, 69);
    Tensor<double> output, grad_input;
    tebn.forward(input, output, {true, 0, 0, 0});
    tebn.backward(input, output, random_tensor(output.shape(), 70, -1.0, 1.0), &grad_input);
    std::vector<double> all(output.span().begin(), output.span().end());
    all.insert(all.end(), grad_input.span().begin(), grad_input.span().end());
    for (const Parameter<double>* p : tebn.parameters()) {
      all.insert(all.end(), p->grad.span().begin(), p->grad.span().end());
    }
    all.insert(all.end(), tebn.running_mean().begin(), tebn.running_mean().end());
    all.insert(all.end(), tebn.running_var().begin(), tebn.running_var().end());
    set_thread_count(previous);
    return all;
  };
  EXPECT_EQ(run(1), run(2));
}

}  // namespace
}  // namespace homeostat
