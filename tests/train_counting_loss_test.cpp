// The counting losses of time-based training (train/loss.hpp, papers.md 5d): count and count_plus
// against a hand-computed case, count's gradient by finite differences (on the output and
// through a smooth network), count_plus's per-neuron time sums against the finite-difference
// dL/dN with the class-ratio weight, and the config keys.
#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "common/error.hpp"
#include "config/config_reader.hpp"
#include "config/experiment_reader.hpp"
#include "gradient_check.hpp"
#include "layer/dense.hpp"
#include "layer/spiking.hpp"
#include "train/loss.hpp"

namespace homeostat {
namespace {

using testing::random_tensor;

// T = 4, B = 2, C = 3. Sample 0 (label 0): neuron 0 spikes at t = 0, 2 (N = 2), neuron 1 at
// t = 0, 1, 3 (N = 3), neuron 2 never. Sample 1 (label 2): neuron 0 at t = 1 (N = 1), neurons
// 1 and 2 at every step (N = 4).
Tensor<double> hand_output() {
  Tensor<double> out({4, 2, 3});
  const auto set = [&](std::size_t t, std::size_t b, std::size_t c) {
    out[(t * 2 + b) * 3 + c] = 1;
  };
  set(0, 0, 0);
  set(2, 0, 0);
  for (const std::size_t t : {0, 1, 3}) set(t, 0, 1);
  set(1, 1, 0);
  for (std::size_t t = 0; t < 4; ++t) {
    set(t, 1, 1);
    set(t, 1, 2);
  }
  return out;
}

LossSpec counting_spec(LossKind kind) {
  LossSpec spec;
  spec.kind = kind;
  spec.desired_count = 3;
  spec.undesired_count = 1;
  spec.count_ratio_scale = 1;  // so the label weight max(ratio, 1) = 1.8 is active
  return spec;
}

double grad_at(const Tensor<double>& g, std::size_t t, std::size_t b, std::size_t c) {
  return g[(t * 2 + b) * 3 + c];
}

// Clipped counts: sample 0 (2, 3, max(0, 1) = 1), sample 1 (max(1, 1) = 1, 4, min(4, 3) = 3).
// delta = (N - N^) / 4: sample 0 (-0.25, 0.5, 0), sample 1 (0, 0.75, 0).
// L = mean_b (T/2) sum_c delta^2 = ((2 * (0.0625 + 0.25)) + (2 * 0.5625)) / 2 = 0.875.
TEST(CountingLoss, CountMatchesHandComputedCase) {
  const std::vector<std::int32_t> labels{0, 2};
  Tensor<double> grad;
  const LossResult r = compute_loss(counting_spec(LossKind::count), hand_output(), labels, grad);
  EXPECT_NEAR(r.loss, 0.875, 1e-12);
  EXPECT_EQ(r.predictions, (std::vector<std::int32_t>{1, 1}));  // counts (2,3,0), (1,4,4): tie -> 1
  for (std::size_t t = 0; t < 4; ++t) {                         // delta / B at every step
    EXPECT_NEAR(grad_at(grad, t, 0, 0), -0.125, 1e-12);
    EXPECT_NEAR(grad_at(grad, t, 0, 1), 0.25, 1e-12);
    EXPECT_NEAR(grad_at(grad, t, 0, 2), 0.0, 1e-12);
    EXPECT_NEAR(grad_at(grad, t, 1, 0), 0.0, 1e-12);
    EXPECT_NEAR(grad_at(grad, t, 1, 1), 0.375, 1e-12);
    EXPECT_NEAR(grad_at(grad, t, 1, 2), 0.0, 1e-12);  // above desired: clipped, no error
  }
}

// Same value; ratio = (3 + 1 + 1 + 4 + 1e-5) / (2 + 3 + 1e-5) = 1.8 (clipped counts), so the
// label neuron of sample 0 gets 1.8 * (-0.25) / N = 2 / B = 2 at its two spikes = -0.1125; the
// others delta / N / B at their spikes: 0.5 / 3 / 2 and 0.75 / 4 / 2; nothing where no spike.
TEST(CountingLoss, CountPlusMatchesHandComputedCase) {
  const std::vector<std::int32_t> labels{0, 2};
  Tensor<double> grad;
  const Tensor<double> out = hand_output();
  const LossResult r = compute_loss(counting_spec(LossKind::count_plus), out, labels, grad);
  EXPECT_NEAR(r.loss, 0.875, 1e-12);
  const double ratio = (9 + 1e-5) / (5 + 1e-5);
  for (std::size_t t = 0; t < 4; ++t) {
    const auto spike = [&](std::size_t b, std::size_t c) { return out[(t * 2 + b) * 3 + c]; };
    EXPECT_NEAR(grad_at(grad, t, 0, 0), spike(0, 0) * ratio * -0.25 / 2 / 2, 1e-12);
    EXPECT_NEAR(grad_at(grad, t, 0, 1), spike(0, 1) * 0.5 / 3 / 2, 1e-12);
    EXPECT_EQ(grad_at(grad, t, 0, 2), 0.0);
    EXPECT_EQ(grad_at(grad, t, 1, 0), 0.0);
    EXPECT_NEAR(grad_at(grad, t, 1, 1), 0.75 / 4 / 2, 1e-12);
    EXPECT_EQ(grad_at(grad, t, 1, 2), 0.0);
  }
  EXPECT_NEAR(grad_at(grad, 0, 0, 0), -0.1125, 1e-6);
  EXPECT_EQ(grad_at(grad, 1, 0, 0), 0.0);  // no spike at t = 1
  // With the reference's scale 10 the weight is max(0.18, 1) = 1.
  LossSpec spec = counting_spec(LossKind::count_plus);
  spec.count_ratio_scale = 10;
  compute_loss(spec, out, labels, grad);
  EXPECT_NEAR(grad_at(grad, 0, 0, 0), -0.25 / 2 / 2, 1e-12);
}

// Random graded outputs, targets off the integers so no count sits on a clipping kink.
Tensor<double> graded_output(std::uint64_t key) { return random_tensor({5, 3, 4}, key, 0.0, 1.0); }

LossSpec graded_spec(LossKind kind) {
  LossSpec spec;
  spec.kind = kind;
  spec.desired_count = 3.3;
  spec.undesired_count = 1.7;
  spec.count_ratio_scale = 0.5;
  return spec;
}

double loss_value(const LossSpec& spec, const Tensor<double>& out,
                  const std::vector<std::int32_t>& labels) {
  Tensor<double> unused;
  return compute_loss(spec, out, labels, unused).loss;
}

double central_difference(const LossSpec& spec, Tensor<double> out,
                          const std::vector<std::int32_t>& labels, std::size_t i) {
  const double h = 1e-5;
  const double saved = out[i];
  out[i] = saved + h;
  const double up = loss_value(spec, out, labels);
  out[i] = saved - h;
  const double down = loss_value(spec, out, labels);
  return (up - down) / (2 * h);
}

TEST(CountingLoss, CountGradientMatchesFiniteDifferences) {
  const std::vector<std::int32_t> labels{1, 3, 0};
  const LossSpec spec = graded_spec(LossKind::count);
  const Tensor<double> out = graded_output(5);
  Tensor<double> grad;
  compute_loss(spec, out, labels, grad);
  std::size_t nonzero = 0;
  for (std::size_t i = 0; i < out.size(); ++i) {
    const double numeric = central_difference(spec, out, labels, i);
    EXPECT_NEAR(grad[i], numeric, 1e-8) << "element " << i;
    nonzero += std::abs(grad[i]) > 1e-3;
  }
  EXPECT_GT(nonzero, out.size() / 2);  // most counts are off target: the check is not vacuous
}

// count_plus keeps the loss of count and redistributes dL/dN_bc over the spikes: its time sum per
// neuron equals w_bc * dL/dN_bc (finite differences of the loss in any one step), and each step
// gets the share o_t / N.
TEST(CountingLoss, CountPlusTimeSumsMatchWeightedFiniteDifferences) {
  const std::vector<std::int32_t> labels{1, 3, 0};
  const LossSpec spec = graded_spec(LossKind::count_plus);
  const Tensor<double> out = graded_output(6);
  Tensor<double> grad;
  compute_loss(spec, out, labels, grad);
  const std::size_t steps = 5, batch = 3, classes = 4;
  std::vector<double> counts(batch * classes, 0.0);
  for (std::size_t t = 0; t < steps; ++t)
    for (std::size_t i = 0; i < batch * classes; ++i) counts[i] += out[t * batch * classes + i];
  double label_sum = 0, other_sum = 0;
  for (std::size_t b = 0; b < batch; ++b)
    for (std::size_t c = 0; c < classes; ++c) {
      const double n = counts[b * classes + c];
      if (static_cast<std::int32_t>(c) == labels[b]) {
        label_sum += std::min(n, spec.desired_count);
      } else {
        other_sum += std::max(n, spec.undesired_count);
      }
    }
  const double label_weight = std::max((other_sum + 1e-5) / (label_sum + 1e-5) / 0.5, 1.0);
  ASSERT_GT(label_weight, 1.5);  // the weighting is exercised
  std::size_t checked = 0;
  for (std::size_t b = 0; b < batch; ++b) {
    for (std::size_t c = 0; c < classes; ++c) {
      const std::size_t i = b * classes + c;
      const double w = static_cast<std::int32_t>(c) == labels[b] ? label_weight : 1.0;
      const double dl_dn = central_difference(spec, out, labels, i);  // step 0 of neuron i
      double time_sum = 0;
      for (std::size_t t = 0; t < steps; ++t) {
        const double g = grad[t * batch * classes + i];
        time_sum += g;
        EXPECT_NEAR(g * counts[i], w * dl_dn * out[t * batch * classes + i], 1e-8);
      }
      EXPECT_NEAR(time_sum, w * dl_dn, 1e-8) << "sample " << b << " class " << c;
      checked += std::abs(dl_dn) > 1e-3;
    }
  }
  EXPECT_GT(checked, 6u);
}

// count through a smooth two-layer network, every parameter by finite differences.
TEST(CountingLoss, CountGradientThroughNetworkMatchesFiniteDifferences) {
  Network<double> network;
  network.add(std::make_unique<DenseLayer<double>>("fc", Shape{5}, 4, true,
                                                   testing::normal_init(2.0), 3, 0));
  network.add(std::make_unique<SpikingLayer<double>>("lif", Shape{4}, testing::smooth_spec()));
  const std::vector<std::int32_t> labels{2, 0};
  const LossSpec spec = graded_spec(LossKind::count);
  testing::GradientCheckOptions options;
  options.minimum_signal = 1e-4;
  testing::expect_gradients_match(network, random_tensor({6, 2, 5}, 21, -1.0, 1.5), options,
                                  [&](const Tensor<double>& out, Tensor<double>* grad) {
                                    Tensor<double> g;
                                    const double loss = compute_loss(spec, out, labels, g).loss;
                                    if (grad) *grad = g;
                                    return loss;
                                  });
}

std::string config_error(const std::string& train_lines) {
  const std::string text =
      "name = \"t\"\n[data]\ntime_steps = 8\n[[network.layers]]\nkind = \"dense\"\nunits = "
      "10\n[[network.layers]]\nkind = \"lif\"\n[train]\n" +
      train_lines;
  try {
    (void)parse_experiment(parse_config_string(text, "t.toml"));
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "no error";
}

TEST(CountingLoss, ConfigKeysAndErrors) {
  const std::string base =
      "name = \"t\"\n[data]\ntime_steps = 8\n[[network.layers]]\nkind = \"dense\"\nunits = "
      "10\n[[network.layers]]\nkind = \"lif\"\n[train]\nloss = \"count_plus\"\ndesired_count = "
      "6\nundesired_count = 2\ncount_ratio_scale = 4\n";
  const ExperimentConfig config = parse_experiment(parse_config_string(base, "t.toml"));
  EXPECT_EQ(config.train.loss.kind, LossKind::count_plus);
  EXPECT_EQ(config.train.loss.desired_count, 6.0);
  EXPECT_EQ(config.train.loss.undesired_count, 2.0);
  EXPECT_EQ(config.train.loss.count_ratio_scale, 4.0);
  // desired_count defaults to min(10, T).
  EXPECT_EQ(parse_experiment(
                parse_config_string(
                    base.substr(0, base.find("desired_count")) + "undesired_count = 1\n", "t.toml"))
                .train.loss.desired_count,
            8.0);

  std::string e = config_error("loss = \"count\"\ndesired_count = 2\nundesired_count = 3\n");
  EXPECT_NE(e.find("undesired_count"), std::string::npos) << e;
  EXPECT_NE(e.find("line 12"), std::string::npos) << e;
  e = config_error("loss = \"count\"\ndesired_count = 9\n");  // above T = 8
  EXPECT_NE(e.find("desired_count"), std::string::npos) << e;
  e = config_error("loss = \"count_plus\"\ncount_ratio_scale = 0\n");
  EXPECT_NE(e.find("count_ratio_scale"), std::string::npos) << e;
  e = config_error("loss = \"counting\"\n");
  EXPECT_NE(e.find("count_plus"), std::string::npos) << e;  // lists the valid names
  e = config_error("loss = \"count\"\ndesired_cont = 3\n");
  EXPECT_NE(e.find("desired_cont"), std::string::npos) << e;
  // The order check only applies to the counting losses.
  EXPECT_EQ(config_error("desired_count = 1\nundesired_count = 1\n"), "no error");
}

}  // namespace
}  // namespace homeostat
