// The stability-based advisor (homeostasis/advisor.hpp): each condition's formula on small
// hand-computed cases, the quadrature of every surrogate shape against closed forms, the input
// statistics, the --apply round trip, the error cases, and the acceptance check on W2 (initial
// hidden rate 0.5 +- 0.1 for three seeds).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <numbers>
#include <sstream>

#include "common/error.hpp"
#include "data/encoder.hpp"
#include "data/idx.hpp"
#include "network/builder.hpp"
#include "studies/advise.hpp"
#include "studies/advisor.hpp"
#include "temp_dir.hpp"
#include "train/trainer.hpp"

namespace homeostat {
namespace {

const std::string kW2 = HOMEOSTAT_SOURCE_DIR "/experiments/w2.toml";

bool has_fashion_mnist() { return std::filesystem::exists(kDefaultFashionMnistDir); }

SurrogateSpec surrogate(SurrogateKind kind, double gamma, double beta, double q = 2.0) {
  SurrogateSpec spec;
  spec.kind = kind;
  spec.dampening = gamma;
  spec.sharpness = beta;
  spec.tail = q;
  return spec;
}

ExperimentConfig config_from(const std::string& text) {
  return parse_experiment(parse_config_string(text, "test.toml"));
}

// The initial hidden rate of `config`, measured as the trainer's first batch would see it:
// samples 0..127, CounterRng(seed, encode, {0, 0}), RunContext{false, seed, 0, 0}.
double first_batch_rate(const ExperimentConfig& config, const Dataset& data, std::size_t layer) {
  const Shape features = network_input_shape(config);
  Network<float> network =
      build_network<float>(config.layers, features, config.data.time_steps, config.seed);
  std::vector<std::size_t> indices(128);
  for (std::size_t i = 0; i < indices.size(); ++i) indices[i] = i;
  std::vector<float> scratch;
  gather_batch(data, indices, scratch);
  const ViewShape view = view_shape(config.data.view, data.sample_shape);
  Tensor<float> input;
  encode<float>(config.encoder, scratch, indices.size(), view.frames,
                shape_size(view.feature_shape), config.data.time_steps,
                CounterRng(config.seed, RngPurpose::encode, {0, 0}), input);
  Shape shape{config.data.time_steps, indices.size()};
  shape.insert(shape.end(), features.begin(), features.end());
  input.reshape(shape);
  network.forward(input, RunContext{false, config.seed, 0, 0});
  const Tensor<float>& spikes = network.output(layer);
  double sum = 0.0;
  for (std::size_t i = 0; i < spikes.size(); ++i) sum += static_cast<double>(spikes[i]);
  return sum / static_cast<double>(spikes.size());
}

// ---- Condition I ----

TEST(AdvisorConditionI, MatchesThePaperPerResetMode) {
  // subtract, alpha 0.5, theta 1: D = (1 - 0.5) 1 + 1/2 = 1; n_conn 4: mu = 2 * 1 / 4 = 0.5,
  // the paper's (3 - 2 alpha) theta / (n_rec - 1) = 2 / 4.
  EXPECT_DOUBLE_EQ(half_rate_drive(ResetMode::subtract, 0.5, 1.0), 1.0);
  EXPECT_DOUBLE_EQ(condition_i_recurrent_mean(ResetMode::subtract, 0.5, 1.0, 4, 0.0), 0.5);
  // zero = multreset2, alpha 0.5, theta 2: D = (1 - 0.25) 2 = 1.5; n_conn 3: mu = 2 * 1.5 / 3 = 1,
  // the paper's (2 - alpha) theta / (n_rec - 1) = 1.5 * 2 / 3.
  EXPECT_DOUBLE_EQ(half_rate_drive(ResetMode::zero, 0.5, 2.0), 1.5);
  EXPECT_DOUBLE_EQ(condition_i_recurrent_mean(ResetMode::zero, 0.5, 2.0, 3, 0.0), 1.0);
  // none, alpha 0.5, theta 1: D = 0.5; n_conn 4: mu = 0.25 = 2 (1 - alpha) theta / (n_rec - 1).
  EXPECT_DOUBLE_EQ(half_rate_drive(ResetMode::none, 0.5, 1.0), 0.5);
  EXPECT_DOUBLE_EQ(condition_i_recurrent_mean(ResetMode::none, 0.5, 1.0, 4, 0.0), 0.25);
  // The paper's formula at its defaults (tau 20, theta 0.01, n_rec 256).
  const double alpha = std::exp(-1.0 / 20.0);
  EXPECT_NEAR(condition_i_recurrent_mean(ResetMode::subtract, alpha, 0.01, 255, 0.0),
              (3.0 - 2.0 * alpha) * 0.01 / 255.0, 1e-15);
}

TEST(AdvisorConditionI, InputCurrentMeanReducesTheRecurrentShare) {
  // subtract, alpha 0.5, theta 1, input current mean 0.2: mu = 2 (1 - 0.2) / 4 = 0.4.
  EXPECT_DOUBLE_EQ(condition_i_recurrent_mean(ResetMode::subtract, 0.5, 1.0, 4, 0.2), 0.4);
  // An input that supplies more than D asks for an inhibitory mean: 2 (1 - 1.5) / 4 = -0.25.
  EXPECT_DOUBLE_EQ(condition_i_recurrent_mean(ResetMode::subtract, 0.5, 1.0, 4, 1.5), -0.25);
}

// ---- Condition II ----

TEST(AdvisorConditionII, HandComputed) {
  // E[x^2] 0.5, Var(W_in) 0.1, n_in 8, n_conn 4, mu 0.2: 0.5 * 0.1 * 8 / 4 - 0.04 / 2 = 0.08.
  EXPECT_NEAR(condition_ii_recurrent_variance(0.5, 0.1, 8, 4, 0.2), 0.08, 1e-15);
  // Deeper-layer statistics (mean 1/2, variance 1/4: E[x^2] = 1/2) with mu 0: 0.5 * 0.1 * 8 / 4.
  EXPECT_NEAR(condition_ii_recurrent_variance(0.25 + 0.25, 0.1, 8, 4, 0.0), 0.1, 1e-15);
  // Negative (mu 1: 0.1 - 0.5) is clamped to 0.
  EXPECT_EQ(condition_ii_recurrent_variance(0.5, 0.1, 8, 4, 1.0), 0.0);
}

// ---- Condition III ----

TEST(AdvisorConditionIII, HandComputed) {
  // min -0.5, max 0.5, n_conn 4, theta 1, alpha 0.5, first layer (gamma_in 0):
  // -0.5 / (0.5 (4 (-0.5) - 1)) (1 - 0.5) = -0.5 / -1.5 * 0.5 = 1/6.
  EXPECT_NEAR(condition_iii_dampening(-0.5, 0.5, 4, 1.0, 0.5, 2, 0.0, 1.0), 1.0 / 6.0, 1e-15);
  // gamma_in 0.1, n_in 2, max W_in 1: bracket 1 - 0.5 - 0.2 = 0.3 -> 1/3 * 0.3 = 0.1.
  EXPECT_NEAR(condition_iii_dampening(-0.5, 0.5, 4, 1.0, 0.5, 2, 0.1, 1.0), 0.1, 1e-15);
  // No recurrent matrix (lif): (1 - alpha - ...) / theta = 0.5 / 2.
  EXPECT_NEAR(condition_iii_dampening(0.0, 0.0, 0, 2.0, 0.5, 2, 0.0, 1.0), 0.25, 1e-15);
  // Infeasible: bracket 1 - 0.5 - 2 * 1 * 1 < 0.
  EXPECT_TRUE(std::isnan(condition_iii_dampening(-0.5, 0.5, 4, 1.0, 0.5, 2, 1.0, 1.0)));
}

// ---- E_s[SG^m] and condition IV ----

TEST(AdvisorSurrogateMoment, MatchesClosedFormsForEveryShape) {
  // rectangular gamma 2, beta 1: 2 on |x| < 1/2; over [-1, 1]: E[SG] = 2 * 1 / 2, E[SG^2] = 4 / 2.
  const SurrogateSpec rect = surrogate(SurrogateKind::rectangular, 2.0, 1.0);
  EXPECT_NEAR(surrogate_moment(rect, 1, -1.0, 1.0), 1.0, 1e-12);
  EXPECT_NEAR(surrogate_moment(rect, 2, -1.0, 1.0), 2.0, 1e-12);
  // triangular gamma 1, beta 1 over [-1, 1]: area 1 -> 1/2; int (1 - |x|)^2 = 2/3 -> 1/3.
  const SurrogateSpec tri = surrogate(SurrogateKind::triangular, 1.0, 1.0);
  EXPECT_NEAR(surrogate_moment(tri, 1, -1.0, 1.0), 0.5, 1e-10);
  EXPECT_NEAR(surrogate_moment(tri, 2, -1.0, 1.0), 1.0 / 3.0, 1e-10);
  // exponential over [0, 1]: int e^{-2x} = (1 - e^{-2}) / 2.
  EXPECT_NEAR(surrogate_moment(surrogate(SurrogateKind::exponential, 1.0, 1.0), 1, 0.0, 1.0),
              (1.0 - std::exp(-2.0)) / 2.0, 1e-10);
  // fast sigmoid over [-1, 1]: 2 int_0^1 (1 + 2x)^-2 = 2 (1/2 - 1/6) = 2/3 -> 1/3; its square
  // 2 int_0^1 (1 + 2x)^-4 = (1 - 1/27) / 3 -> (26 / 81) / 2.
  const SurrogateSpec fast = surrogate(SurrogateKind::fast_sigmoid, 1.0, 1.0);
  EXPECT_NEAR(surrogate_moment(fast, 1, -1.0, 1.0), 1.0 / 3.0, 1e-10);
  EXPECT_NEAR(surrogate_moment(fast, 2, -1.0, 1.0), 13.0 / 81.0, 1e-10);
  // q_tail with q = 2 is the fast sigmoid; q = 3 over [0, 1]: int (1 + x)^-3 = 1/2 - 1/8.
  EXPECT_NEAR(surrogate_moment(surrogate(SurrogateKind::q_tail, 1.0, 1.0, 2.0), 2, -1.0, 1.0),
              13.0 / 81.0, 1e-10);
  EXPECT_NEAR(surrogate_moment(surrogate(SurrogateKind::q_tail, 1.0, 1.0, 3.0), 1, 0.0, 1.0), 0.375,
              1e-10);
  // gaussian and sigmoid integrate to 1 over the line (beta 1): over [-10, 10] -> 1/20.
  EXPECT_NEAR(surrogate_moment(surrogate(SurrogateKind::gaussian, 1.0, 1.0), 1, -10.0, 10.0), 0.05,
              1e-10);
  EXPECT_NEAR(surrogate_moment(surrogate(SurrogateKind::sigmoid, 1.0, 1.0), 1, -10.0, 10.0), 0.05,
              1e-10);
  // arctan over [-1, 1]: int 1 / (1 + (pi x)^2) = (2 / pi) atan(pi) -> / 2.
  EXPECT_NEAR(surrogate_moment(surrogate(SurrogateKind::arctan, 1.0, 1.0), 1, -1.0, 1.0),
              std::atan(std::numbers::pi) / std::numbers::pi, 1e-10);
  // A very sharp surrogate on a wide range is still resolved: rectangular beta 20 on [-100, 100]
  // is 1 on a width of 1/20 -> (1/20) / 200.
  EXPECT_NEAR(surrogate_moment(surrogate(SurrogateKind::rectangular, 1.0, 20.0), 2, -100.0, 100.0),
              0.05 / 200.0, 1e-12);
}

// A layer for condition IV whose E_s[SG^2] is 1 for a wide rectangular surrogate of height 1:
// theta 1, v in [0, 2], so x = v - theta in [-1, 1].
ConditionIvInputs simple_iv(ResetMode reset) {
  ConditionIvInputs in;
  in.reset = reset;
  in.alpha = 0.5;
  in.theta = 1.0;
  in.n_conn = 4;
  in.w_rec_second_moment = 0.25;
  in.n_in = 2;
  in.w_in_second_moment = 0.5;
  in.y_min = 0.0;
  in.y_max = 2.0;
  return in;
}

TEST(AdvisorConditionIV, ResidualHandComputed) {
  const SurrogateSpec flat = surrogate(SurrogateKind::rectangular, 1.0, 0.1);  // 1 on |x| < 5
  // subtract: -1 + alpha^2 + (n_conn E[w^2] + theta^2) E[SG^2] = -1 + 0.25 + (1 + 1) 1 = 1.25.
  EXPECT_NEAR(condition_iv_residual(simple_iv(ResetMode::subtract), flat), 1.25, 1e-12);
  // zero (multreset2): -1 + alpha^2 / 2 + 1 * 1 = 0.125.
  EXPECT_NEAR(condition_iv_residual(simple_iv(ResetMode::zero), flat), 0.125, 1e-12);
  // none: -1 + 0.25 + 1 = 0.25.
  EXPECT_NEAR(condition_iv_residual(simple_iv(ResetMode::none), flat), 0.25, 1e-12);
  // Spiking input with SG_in = 0.5 everywhere: + n_in E[w_in^2] E[SG_in] = 2 * 0.5 * 0.5.
  ConditionIvInputs deep = simple_iv(ResetMode::none);
  deep.spiking_input = true;
  deep.input_surrogate = surrogate(SurrogateKind::rectangular, 0.5, 0.1);
  EXPECT_NEAR(condition_iv_residual(deep, flat), 0.75, 1e-12);
}

TEST(AdvisorConditionIV, SolvesTheSharpnessHandComputed) {
  // none reset, alpha 0 (A = 0), n_conn 1, E[w^2] 2 (C = 2), rectangular gamma 1, x in [-4, 4]:
  // E[SG^2] = (1 / beta) / 8 while 1 / (2 beta) < 4, so -1 + 2 / (8 beta) = 0 at beta = 1/4.
  ConditionIvInputs in;
  in.reset = ResetMode::none;
  in.alpha = 0.0;
  in.theta = 1.0;
  in.n_conn = 1;
  in.w_rec_second_moment = 2.0;
  in.y_min = -3.0;
  in.y_max = 5.0;
  const ConditionIvSolution solution =
      solve_condition_iv(in, surrogate(SurrogateKind::rectangular, 1.0, 1.0));
  EXPECT_TRUE(solution.root);
  EXPECT_NEAR(solution.value, 0.25, 1e-9);
  // fast sigmoid: E[SG^2] = (1 / (6 beta)) (1 - (1 + 8 beta)^-3) / 4 over [-4, 4]; the residual at
  // the solution is 0.
  const SurrogateSpec fast = surrogate(SurrogateKind::fast_sigmoid, 1.0, 1.0);
  const ConditionIvSolution fs = solve_condition_iv(in, fast);
  ASSERT_TRUE(fs.root);
  const double beta = fs.value;
  EXPECT_NEAR(-1.0 + 2.0 * (1.0 - std::pow(1.0 + 8.0 * beta, -3.0)) / (24.0 * beta), 0.0, 1e-9);
  // Too small a dampening: no surrogate is wide enough; the widest is advised and flagged.
  const ConditionIvSolution weak =
      solve_condition_iv(in, surrogate(SurrogateKind::fast_sigmoid, 0.01, 1.0));
  EXPECT_FALSE(weak.root);
  EXPECT_EQ(weak.value, kSharpnessMin);
  EXPECT_LT(weak.residual, 0.0);
  // q_tail (sharpness 0.1 kept), C = 3: residual -1 + 3 E[SG^2] is about -1 at q = 1.01 (a very
  // narrow peak) and -1 + 3 (1 - e^-1.6) / 1.6 > 0 near q = 17 (close to exp(-0.2 |x|)), so the
  // tail is solved in between and the residual vanishes there.
  in.w_rec_second_moment = 3.0;
  const SurrogateSpec tail = surrogate(SurrogateKind::q_tail, 1.0, 0.1, 2.0);
  const ConditionIvSolution q = solve_condition_iv(in, tail);
  ASSERT_TRUE(q.root);
  EXPECT_GT(q.value, kTailMin);
  EXPECT_LT(q.value, kTailMax);
  SurrogateSpec solved = tail;
  solved.tail = q.value;
  EXPECT_NEAR(condition_iv_residual(in, solved), 0.0, 1e-8);
}

// ---- Input statistics ----

TEST(AdvisorInputStatistics, EncodedMoments) {
  Dataset data;
  data.sample_shape = {2, 2};
  data.samples = {0.0f, 0.5f, 1.0f, 0.25f};
  data.labels = {0};
  data.num_classes = 1;
  ExperimentConfig config;
  config.data.view = DataView::flat;
  config.data.time_steps = 4;
  config.encoder.kind = EncoderKind::direct;
  config.encoder.gain = 2.0;
  // direct gain 2: 0, 1, 2, 0.5 -> mean 0.875, E[x^2] (0 + 1 + 4 + 0.25) / 4, max 2.
  InputStatistics s = encoded_input_statistics(config, data);
  EXPECT_DOUBLE_EQ(s.mean, 0.875);
  EXPECT_DOUBLE_EQ(s.second_moment, 5.25 / 4.0);
  EXPECT_DOUBLE_EQ(s.max, 2.0);
  // rate gain 1: p = 0, 0.5, 1, 0.25; a spike is 1 with probability p: E[x] = E[x^2] = 0.4375.
  config.encoder.kind = EncoderKind::rate;
  config.encoder.gain = 1.0;
  s = encoded_input_statistics(config, data);
  EXPECT_DOUBLE_EQ(s.mean, 0.4375);
  EXPECT_DOUBLE_EQ(s.second_moment, 0.4375);
  EXPECT_DOUBLE_EQ(s.max, 1.0);
  // poisson: p = 1 - e^{-x}.
  config.encoder.kind = EncoderKind::poisson;
  s = encoded_input_statistics(config, data);
  const double p =
      (0.0 + (1.0 - std::exp(-0.5)) + (1.0 - std::exp(-1.0)) + (1.0 - std::exp(-0.25))) / 4.0;
  EXPECT_NEAR(s.mean, p, 1e-7);
  // latency (threshold 0.01): 3 of the 4 pixels spike once in T = 4 steps: 3 / 16.
  config.encoder.kind = EncoderKind::latency;
  s = encoded_input_statistics(config, data);
  EXPECT_DOUBLE_EQ(s.mean, 3.0 / 16.0);
  EXPECT_DOUBLE_EQ(s.second_moment, 3.0 / 16.0);
  // Deeper layers: the paper's mean 1/2 and variance 1/4.
  s = spike_input_statistics("hidden");
  EXPECT_DOUBLE_EQ(s.mean, 0.5);
  EXPECT_DOUBLE_EQ(s.second_moment - s.mean * s.mean, 0.25);
}

// ---- Advice on small configs ----

const char* kSmallRecurrent = R"(name = "small"
seed = 4
[data]
view = "rows"
[encoder]
kind = "direct"
[[network.layers]]
kind = "recurrent"
name = "hidden"
units = 5
decay = 0.5
threshold = 0.1
[[network.layers]]
kind = "dense"
units = 10
[[network.layers]]
kind = "readout"
)";

TEST(AdvisorAdvice, RecurrentLayerHandComputed) {
  const ExperimentConfig config = config_from(kSmallRecurrent);
  InputStatistics input;
  input.mean = 0.5;
  input.second_moment = 0.5;
  input.max = 1.0;
  const std::vector<LayerAdvice> advice = compute_advice(config, input);
  ASSERT_EQ(advice.size(), 1u);
  const LayerAdvice& a = advice[0];
  EXPECT_EQ(a.n_in, 28u);
  EXPECT_EQ(a.n_conn, 4u);
  // I: D = 0.5 * 0.1 + 0.05 = 0.1; zero-mean input: mu = 2 * 0.1 / 4 = 0.05.
  EXPECT_NEAR(a.drive, 0.1, 1e-15);
  EXPECT_NEAR(a.mu_rec, 0.05, 1e-15);
  // II: Var(W_in) = 1 / (3 * 28); 0.5 * (1 / 84) * 28 / 4 - 0.05^2 / 2 = 1/24 - 0.00125.
  EXPECT_NEAR(a.var_in, 1.0 / 84.0, 1e-15);
  EXPECT_NEAR(a.var_rec, 1.0 / 24.0 - 0.00125, 1e-14);
  EXPECT_NEAR(a.gain_rec, std::sqrt(a.var_rec * 5.0), 1e-14);
  // III from the realized extremes.
  EXPECT_NEAR(a.dampening,
              condition_iii_dampening(a.w_rec_min, a.w_rec_max, 4, 0.1, 0.5, 28, 0.0, a.w_in_max),
              1e-15);
  EXPECT_LT(a.w_rec_min, 0.0);
  EXPECT_GT(a.w_rec_max, 0.0);
  // IV at the configured sharpness 1 is solved by iv_dampening.
  ConditionIvInputs iv;
  iv.alpha = 0.5;
  iv.theta = 0.1;
  iv.n_conn = 4;
  iv.w_rec_second_moment = a.var_rec + a.mu_rec * a.mu_rec;
  iv.n_in = 28;
  iv.w_in_second_moment = a.var_in;
  iv.y_min = a.y_min;
  iv.y_max = a.y_max;
  ASSERT_TRUE(std::isfinite(a.iv_dampening));
  EXPECT_NEAR(
      condition_iv_residual(iv, surrogate(SurrogateKind::fast_sigmoid, a.iv_dampening, 1.0)), 0.0,
      1e-12);
  // The voltage range: (positive / negative expected row sums) / (1 - alpha), inputs up to 1:
  // W_rec ~ N(0.05, var_rec): E[relu] = mu Phi(mu / s) + s phi(mu / s); W_in ~ U(-a, a) with
  // a = 1 / sqrt(28): E[relu] = a / 4, so 28 a / 4 = 7 a; subtract reset: theta 0.1 below y_min.
  const double sd = std::sqrt(a.var_rec);
  const double relu =
      0.05 * 0.5 * std::erfc(-0.05 / sd / std::numbers::sqrt2) +
      sd * std::exp(-0.5 * (0.05 / sd) * (0.05 / sd)) / std::sqrt(2.0 * std::numbers::pi);
  const double in_part = 7.0 / std::sqrt(28.0);
  EXPECT_NEAR(a.y_max, 2.0 * (4.0 * relu + in_part), 1e-12);
  EXPECT_NEAR(a.y_min, 2.0 * (-4.0 * (relu - 0.05) - in_part - 0.1), 1e-12);
  // The overrides name the real config keys.
  const std::vector<std::string> overrides = advice_overrides(config, advice);
  const auto has = [&](const std::string& prefix) {
    return std::any_of(overrides.begin(), overrides.end(),
                       [&](const std::string& o) { return o.rfind(prefix, 0) == 0; });
  };
  EXPECT_TRUE(has("name=\"small_advised\""));
  EXPECT_TRUE(has("network.layers.0.recurrent_init=\"normal\""));
  EXPECT_TRUE(has("network.layers.0.recurrent_init_gain="));
  EXPECT_TRUE(has("network.layers.0.recurrent_init_mean=0.05"));
  EXPECT_TRUE(has("network.layers.0.dampening="));
  EXPECT_TRUE(has("network.layers.0.sharpness="));
}

TEST(AdvisorAdvice, LifLayerSetsTheDenseMean) {
  const ExperimentConfig config = config_from(R"(name = "ff"
[data]
view = "rows"
[encoder]
kind = "direct"
[[network.layers]]
kind = "dense"
units = 6
bias_init = 0.1
[[network.layers]]
kind = "lif"
name = "spiking"
decay = 0.5
threshold = 1.0
reset = "zero"
surrogate = "q_tail"
[[network.layers]]
kind = "dense"
units = 10
[[network.layers]]
kind = "readout"
)");
  InputStatistics input;
  input.mean = 0.25;
  input.second_moment = 0.125;
  input.max = 1.0;
  const std::vector<LayerAdvice> advice = compute_advice(config, input);
  ASSERT_EQ(advice.size(), 1u);
  const LayerAdvice& a = advice[0];
  EXPECT_EQ(a.layer, 1u);
  EXPECT_EQ(a.weight_layer, 0u);
  EXPECT_EQ(a.n_rec, 0u);
  // zero reset: D = (1 - 0.25) 1 = 0.75; mu_in = (D - bias 0.1) / (n_in 28 * E[x] 0.25) = 0.65 / 7.
  EXPECT_NEAR(a.mu_in, 0.65 / 7.0, 1e-15);
  // III without a recurrent matrix: (1 - alpha) / theta.
  EXPECT_NEAR(a.dampening, 0.5, 1e-15);
  const std::vector<std::string> overrides = advice_overrides(config, advice);
  EXPECT_NE(std::find(overrides.begin(), overrides.end(), "network.layers.0.init_mean=0.0928571"),
            overrides.end());
  // q_tail: the tail is advised, not the sharpness.
  EXPECT_TRUE(std::any_of(overrides.begin(), overrides.end(), [](const std::string& o) {
    return o.rfind("network.layers.1.tail=", 0) == 0;
  }));
}

TEST(AdvisorAdvice, LifWithoutDenseInputIsSkipped) {
  const ExperimentConfig config = config_from(R"(name = "direct_lif"
[data]
view = "rows"
[[network.layers]]
kind = "lif"
[[network.layers]]
kind = "dense"
units = 10
[[network.layers]]
kind = "readout"
)");
  std::vector<std::string> skipped;
  EXPECT_TRUE(compute_advice(config, spike_input_statistics(""), &skipped).empty());
  ASSERT_EQ(skipped.size(), 1u);
  EXPECT_NE(skipped[0].find("not fed by a dense layer"), std::string::npos) << skipped[0];
}

TEST(AdvisorErrors, NoSpikingLayersIsAConfigError) {
  const ExperimentConfig config = config_from(R"(name = "mlp"
[[network.layers]]
kind = "dense"
units = 10
)");
  try {
    compute_advice(config, spike_input_statistics(""));
    FAIL() << "expected a ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("no LIF/ALIF layers"), std::string::npos) << e.what();
  }
}

TEST(AdvisorErrors, UnreadableConfigIsAConfigError) {
  testing::TempDir dir;
  EXPECT_THROW(run_advise((dir.path() / "missing.toml").string(), {}, ""), ConfigError);
  std::ofstream(dir.file("bad.toml")) << "name = \n";
  EXPECT_THROW(run_advise(dir.file("bad.toml").string(), {}, ""), ConfigError);
}

// ---- --apply, end to end on a small synthetic IDX dataset ----

TEST(AdvisorApply, WritesAConfigThatLoadsWithTheAdvisedValues) {
  testing::TempDir dir;
  // 300 28x28 images: a bright band whose rows vary per sample, so the direct input has structure.
  IdxArray images{{300, 28, 28}, std::vector<std::uint8_t>(300 * 28 * 28, 0)};
  IdxArray labels{{300}, std::vector<std::uint8_t>(300, 0)};
  for (std::size_t s = 0; s < 300; ++s) {
    labels.values[s] = static_cast<std::uint8_t>(s % 10);
    for (std::size_t r = 4 + s % 7; r < 20 + s % 5; ++r) {
      for (std::size_t c = 6; c < 22; ++c) {
        images.values[(s * 28 + r) * 28 + c] =
            static_cast<std::uint8_t>((s * 37 + r * 11 + c) % 256);
      }
    }
  }
  write_idx(dir.file("train-images-idx3-ubyte"), images, false);
  write_idx(dir.file("train-labels-idx1-ubyte"), labels, false);
  std::string text = kSmallRecurrent;
  text.replace(text.find("units = 5"), 9, "units = 32");
  text.replace(text.find("threshold = 0.1"), 15, "threshold = 1.0\nsurrogate = \"gaussian\"");
  text.replace(text.find("[data]\n"), 7, "[data]\ndirectory = \"" + dir.path().string() + "\"\n");
  const std::filesystem::path input = dir.file("small.toml");
  std::ofstream(input) << text;

  const AdvisorReport report = run_advisor(input, {"seed=7"});
  ASSERT_EQ(report.layers.size(), 1u);
  const LayerAdvice& a = report.layers[0];

  const std::filesystem::path output = dir.file("advised.toml");
  EXPECT_EQ(run_advise(input.string(), {"seed=7"}, output.string()), 0);
  const ExperimentConfig advised = load_experiment(output);
  EXPECT_EQ(advised.name, "small_advised");
  EXPECT_EQ(advised.seed, 7u);  // the --set overrides are kept
  const LayerSpec& hidden = advised.layers[0];
  EXPECT_EQ(hidden.recurrent_init.kind, InitSpec::Kind::normal);
  EXPECT_NEAR(hidden.recurrent_init.mean, a.mu_rec, 1e-6 * std::abs(a.mu_rec));
  EXPECT_NEAR(hidden.recurrent_init.gain, a.gain_rec, 1e-6 * a.gain_rec);
  EXPECT_NEAR(hidden.neuron.surrogate.dampening, a.surrogate.dampening, 1e-12);
  EXPECT_NEAR(hidden.neuron.surrogate.sharpness, a.surrogate.sharpness, 1e-12);
  EXPECT_EQ(hidden.neuron.surrogate.kind, SurrogateKind::gaussian);
  // Everything else is the input config's.
  EXPECT_EQ(hidden.units, 32u);
  EXPECT_EQ(advised.layers.size(), 3u);
  EXPECT_EQ(advised.data.directory, dir.path());
  // The report's measured rate is that of the written config.
  EXPECT_NEAR(a.advised_rate, first_batch_rate(advised, load_data_split(advised, "train", 300), 0),
              1e-12);
}

// ---- Acceptance: W2 starts at 0.5 +- 0.1 ----

TEST(AdvisorW2, InitialHiddenRateIsHalfForThreeSeeds) {
  if (!has_fashion_mnist()) GTEST_SKIP() << "dataset-fashion-mnist not installed";
  for (const int seed : {1, 2, 3}) {
    const std::vector<std::string> overrides{"seed=" + std::to_string(seed)};
    const AdvisorReport report = run_advisor(kW2, overrides);
    ASSERT_EQ(report.layers.size(), 1u);
    const ExperimentConfig advised =
        parse_experiment(parse_config_string(report.advised_toml, "w2 advised"));
    EXPECT_EQ(advised.seed, static_cast<std::uint64_t>(seed));
    const Dataset data = load_data_split(advised, "train", 128);
    const double rate = first_batch_rate(advised, data, 0);
    const ExperimentConfig original = load_experiment(kW2, overrides);
    const double before = first_batch_rate(original, data, 0);
    std::printf(
        "W2 seed %d: initial hidden rate %.4f (configured %.4f); mu_rec %.6g (paper %.6g)\n", seed,
        rate, before, report.layers[0].mu_rec, report.layers[0].mu_paper);
    EXPECT_NEAR(rate, 0.5, 0.1) << "seed " << seed;
    EXPECT_NEAR(report.layers[0].advised_rate, rate, 1e-12);
  }
}

TEST(AdvisorW2, PrintsTheAdviceTable) {
  if (!has_fashion_mnist()) GTEST_SKIP() << "dataset-fashion-mnist not installed";
  ::testing::internal::CaptureStdout();
  const int code = run_advise(kW2, {}, "");
  const std::string out = ::testing::internal::GetCapturedStdout();
  std::printf("%s", out.c_str());
  EXPECT_EQ(code, 0);
  for (const char* text :
       {"layer 0 'hidden': recurrent LIF, n_in 28, n_rec 256", "alpha 0.95, theta 1",
        "recurrent_init_mean", "recurrent_init_gain", "dampening", "sharpness", "initial rate",
        "--set network.layers.0.recurrent_init=\"normal\"", "--set name=\"w2_advised\""}) {
    EXPECT_NE(out.find(text), std::string::npos) << text;
  }
}

}  // namespace
}  // namespace homeostat
