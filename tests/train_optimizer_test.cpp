// Optimizers, schedules and losses against hand-computed numbers.
#include <gtest/gtest.h>

#include <cmath>
#include <numbers>

#include "common/error.hpp"
#include "layer/dropout.hpp"
#include "train/loss.hpp"
#include "train/optimizer.hpp"
#include "train/schedule.hpp"

namespace homeostat {
namespace {

Parameter<double> scalar_parameter(double value, double grad, bool decay = true) {
  Parameter<double> p("p", {1}, decay);
  p.value[0] = value;
  p.grad[0] = grad;
  return p;
}

TEST(Optimizer, SgdMomentumHandComputed) {
  Parameter<double> p = scalar_parameter(1.0, 0.5);
  OptimizerSpec spec;
  spec.kind = OptimizerKind::sgd;
  spec.momentum = 0.9;
  Optimizer<double> opt(spec, {&p});
  opt.step(0.1);  // m = 0.5, w = 1 - 0.05
  EXPECT_NEAR(p.value[0], 0.95, 1e-15);
  opt.step(0.1);  // m = 0.45 + 0.5 = 0.95, w = 0.95 - 0.095
  EXPECT_NEAR(p.value[0], 0.855, 1e-15);
}

TEST(Optimizer, AdamFirstStepMovesByLearningRate) {
  Parameter<double> p = scalar_parameter(1.0, 0.25);
  OptimizerSpec spec;
  spec.kind = OptimizerKind::adam;
  spec.epsilon = 0.0;
  Optimizer<double> opt(spec, {&p});
  opt.step(0.01);  // m_hat = g, v_hat = g^2: step = lr * sign(g)
  EXPECT_NEAR(p.value[0], 0.99, 1e-12);
}

TEST(Optimizer, AdamWDecouplesWeightDecayAndSkipsBiases) {
  Parameter<double> weight = scalar_parameter(2.0, 0.0, true);
  Parameter<double> bias = scalar_parameter(2.0, 0.0, false);
  OptimizerSpec spec;
  spec.kind = OptimizerKind::adamw;
  spec.weight_decay = 0.5;
  Optimizer<double> opt(spec, {&weight, &bias});
  opt.step(0.1);  // w -= lr * wd * w = 2 - 0.1; zero gradient adds nothing
  EXPECT_NEAR(weight.value[0], 1.9, 1e-12);
  EXPECT_NEAR(bias.value[0], 2.0, 1e-15);
}

TEST(Optimizer, ClipsTheGlobalGradientNorm) {
  Parameter<double> a = scalar_parameter(0.0, 3.0);
  Parameter<double> b = scalar_parameter(0.0, 4.0);
  OptimizerSpec spec;
  spec.kind = OptimizerKind::sgd;
  spec.momentum = 0.0;
  spec.clip_grad_norm = 1.0;
  Optimizer<double> opt(spec, {&a, &b});
  EXPECT_NEAR(opt.step(1.0), 5.0, 1e-12);  // returns the norm before clipping
  EXPECT_NEAR(a.value[0], -0.6, 1e-9);
  EXPECT_NEAR(b.value[0], -0.8, 1e-9);
}

TEST(Optimizer, NonFiniteGradientLeavesParametersUntouched) {
  Parameter<double> p = scalar_parameter(1.0, std::nan(""));
  Optimizer<double> opt(OptimizerSpec{}, {&p});
  EXPECT_FALSE(std::isfinite(opt.step(0.1)));
  EXPECT_EQ(p.value[0], 1.0);
}

TEST(Schedule, CosineStepAndWarmup) {
  ScheduleSpec cosine;
  cosine.kind = ScheduleSpec::Kind::cosine;
  cosine.min_learning_rate = 0.1;
  EXPECT_NEAR(scheduled_learning_rate(cosine, 1.0, 0, 10, 100), 1.0, 1e-12);
  EXPECT_NEAR(scheduled_learning_rate(cosine, 1.0, 50, 10, 100), 0.55, 1e-12);
  EXPECT_NEAR(scheduled_learning_rate(cosine, 1.0, 100, 10, 100), 0.1, 1e-12);
  ScheduleSpec step;
  step.kind = ScheduleSpec::Kind::step;
  step.step_epochs = 2;
  step.gamma = 0.5;
  EXPECT_NEAR(scheduled_learning_rate(step, 1.0, 19, 10, 100), 1.0, 1e-12);   // epoch 1
  EXPECT_NEAR(scheduled_learning_rate(step, 1.0, 20, 10, 100), 0.5, 1e-12);   // epoch 2
  EXPECT_NEAR(scheduled_learning_rate(step, 1.0, 45, 10, 100), 0.25, 1e-12);  // epoch 4
  ScheduleSpec warm;
  warm.warmup_steps = 4;
  EXPECT_NEAR(scheduled_learning_rate(warm, 1.0, 0, 10, 100), 0.25, 1e-12);
  EXPECT_NEAR(scheduled_learning_rate(warm, 1.0, 3, 10, 100), 1.0, 1e-12);
}

// Output [T=2, B=1, C=2].
Tensor<double> two_step_output(double a0, double b0, double a1, double b1) {
  Tensor<double> out({2, 1, 2});
  out[0] = a0;
  out[1] = b0;
  out[2] = a1;
  out[3] = b1;
  return out;
}

TEST(Loss, CrossEntropyOnSpikeCountsHandComputed) {
  const Tensor<double> out = two_step_output(1, 0, 1, 1);  // counts (2, 1), label 1
  Tensor<double> grad;
  const std::int32_t label = 1;
  const LossResult r = compute_loss(LossSpec{}, out, std::span(&label, 1), grad);
  const double p1 = std::exp(1.0) / (std::exp(2.0) + std::exp(1.0));
  EXPECT_NEAR(r.loss, -std::log(p1), 1e-12);
  EXPECT_EQ(r.predictions[0], 0);
  for (std::size_t t = 0; t < 2; ++t) {  // same gradient at every step
    EXPECT_NEAR(grad[t * 2 + 0], 1.0 - p1, 1e-12);
    EXPECT_NEAR(grad[t * 2 + 1], p1 - 1.0, 1e-12);
  }
}

TEST(Loss, MaxMembraneRoutesGradientToTheArgmaxStep) {
  const Tensor<double> out = two_step_output(0.2, 3.0, 0.7, 1.0);  // max: (0.7 @t1, 3.0 @t0)
  Tensor<double> grad;
  const std::int32_t label = 0;
  LossSpec spec;
  spec.kind = LossKind::ce_max_membrane;
  compute_loss(spec, out, std::span(&label, 1), grad);
  EXPECT_EQ(grad[0], 0.0);  // t0 class 0 is not the max
  EXPECT_NE(grad[2], 0.0);  // t1 class 0 is
  EXPECT_NE(grad[1], 0.0);  // t0 class 1 is
  EXPECT_EQ(grad[3], 0.0);
}

TEST(Loss, MseCountTowardTargetRates) {
  const Tensor<double> out = two_step_output(1, 0, 1, 0);  // counts (2, 0), label 0, T = 2
  Tensor<double> grad;
  const std::int32_t label = 0;
  LossSpec spec;
  spec.kind = LossKind::mse_count;
  spec.on_rate = 0.5;   // target count 1
  spec.off_rate = 0.5;  // target count 1
  const LossResult r = compute_loss(spec, out, std::span(&label, 1), grad);
  EXPECT_NEAR(r.loss, (1.0 + 1.0) / 2.0, 1e-12);
  EXPECT_NEAR(grad[0], 2.0 * 1.0 / 2.0, 1e-12);
  EXPECT_NEAR(grad[1], 2.0 * -1.0 / 2.0, 1e-12);
}

TEST(Loss, LabelOutsideTheOutputsIsAClearError) {
  const Tensor<double> out = two_step_output(1, 0, 1, 0);
  Tensor<double> grad;
  const std::int32_t label = 5;
  EXPECT_THROW(compute_loss(LossSpec{}, out, std::span(&label, 1), grad), ConfigError);
}

TEST(Dropout, OneMaskForAllStepsAndIdentityAtEvaluation) {
  DropoutLayer<double> dropout("drop", Shape{100}, 0.5, 0);
  Tensor<double> input({3, 2, 100}, 1.0);
  Tensor<double> output;
  dropout.forward(input, output, RunContext{true, 1, 0, 0});
  std::size_t dropped = 0;
  for (std::size_t e = 0; e < 200; ++e) {
    EXPECT_EQ(output[e], output[200 + e]);  // same mask at every step
    EXPECT_EQ(output[e], output[400 + e]);
    EXPECT_TRUE(output[e] == 0.0 || output[e] == 2.0);
    dropped += output[e] == 0.0;
  }
  EXPECT_GT(dropped, 60u);
  EXPECT_LT(dropped, 140u);
  dropout.forward(input, output, RunContext{false, 1, 0, 0});
  for (std::size_t e = 0; e < output.size(); ++e) EXPECT_EQ(output[e], 1.0);
}

}  // namespace
}  // namespace homeostat
