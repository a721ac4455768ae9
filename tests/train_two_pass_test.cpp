// LTMD's two-pass objective (train/two_pass.hpp, papers.md 5b): the stacked batch layout, the
// symmetric KL's value against a hand-computed case and its gradient by finite differences, the
// whole objective's gradient with respect to the stacked output by finite differences, and the
// config keys. The PyTorch comparison through a network with moderate dropout is the oracle case
// TwoPassModerateDropout (torch_oracle_test.cpp).
#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "common/error.hpp"
#include "config/config_reader.hpp"
#include "config/experiment_reader.hpp"
#include "gradient_check.hpp"
#include "train/two_pass.hpp"

namespace homeostat {
namespace {

using testing::random_tensor;

TEST(TwoPass, StackTwiceRepeatsEachStepsBatch) {
  Tensor<double> x({2, 2, 3});
  for (std::size_t i = 0; i < x.size(); ++i) x[i] = static_cast<double>(i);
  Tensor<double> s;
  stack_twice(x, s);
  EXPECT_EQ(s.shape(), (Shape{2, 4, 3}));
  const std::vector<double> expected{0, 1, 2, 3, 4,  5,  0, 1, 2, 3, 4,  5,
                                     6, 7, 8, 9, 10, 11, 6, 7, 8, 9, 10, 11};
  EXPECT_EQ(std::vector<double>(s.span().begin(), s.span().end()), expected);
}

// One sample, two classes: z1 = (0, 0) -> q1 = (1/2, 1/2); z2 = (ln 3, 0) -> q2 = (3/4, 1/4).
// KL(q1||q2) = 1/2 ln(2/3) + 1/2 ln 2 = 1/2 ln(4/3); KL(q2||q1) = 3/4 ln(3/2) + 1/4 ln(1/2).
// S = (KL12 + KL21) / 2 averaged over the 2 elements: (KL12 + KL21) / 4.
TEST(TwoPass, SymmetricKlMatchesHandComputedCase) {
  const double kl12 = 0.5 * std::log(4.0 / 3.0);
  const double kl21 = 0.75 * std::log(1.5) + 0.25 * std::log(0.5);
  const std::vector<double> z1{0.0, 0.0}, z2{std::log(3.0), 0.0};
  EXPECT_NEAR(symmetric_kl(z1, z2, 2), (kl12 + kl21) / 4, 1e-14);
  EXPECT_NEAR(symmetric_kl(z1, z1, 2), 0.0, 1e-15);
}

TEST(TwoPass, SymmetricKlGradientMatchesFiniteDifferences) {
  const std::size_t classes = 4;
  const Tensor<double> a = random_tensor({3, classes}, 31, -2.0, 2.0);
  const Tensor<double> b = random_tensor({3, classes}, 32, -2.0, 2.0);
  std::vector<double> z1(a.span().begin(), a.span().end()), z2(b.span().begin(), b.span().end());
  std::vector<double> g1(z1.size(), 0.0), g2(z2.size(), 0.0);
  symmetric_kl(z1, z2, classes, 0.7, &g1, &g2);
  const double h = 1e-5;
  for (int side = 0; side < 2; ++side) {
    std::vector<double>& z = side == 0 ? z1 : z2;
    const std::vector<double>& g = side == 0 ? g1 : g2;
    for (std::size_t i = 0; i < z.size(); ++i) {
      const double saved = z[i];
      z[i] = saved + h;
      const double up = symmetric_kl(z1, z2, classes);
      z[i] = saved - h;
      const double down = symmetric_kl(z1, z2, classes);
      z[i] = saved;
      EXPECT_NEAR(g[i], 0.7 * (up - down) / (2 * h), 1e-9) << "side " << side << " i " << i;
    }
  }
}

// The objective with respect to every element of the stacked output [T, 2B, C].
void check_objective(LossKind kind) {
  LossSpec spec;
  spec.kind = kind;
  const std::vector<std::int32_t> labels{2, 0, 1};
  const double weight = 0.8;
  Tensor<double> out = random_tensor({4, 6, 3}, 40 + static_cast<std::uint64_t>(kind), -1.0, 2.0);
  TwoPassObjective<double> objective;
  Tensor<double> grad;
  const TwoPassResult r = objective.compute(spec, weight, out, labels, grad);

  // Value: the halves by hand.
  Tensor<double> y1({4, 3, 3}), y2({4, 3, 3});
  for (std::size_t t = 0; t < 4; ++t)
    for (std::size_t i = 0; i < 9; ++i) {
      y1[t * 9 + i] = out[t * 18 + i];
      y2[t * 9 + i] = out[t * 18 + 9 + i];
    }
  Tensor<double> unused;
  const double l1 = compute_loss(spec, y1, labels, unused).loss;
  const LossResult first = compute_loss(spec, y1, labels, unused);
  const double l2 = compute_loss(spec, y2, labels, unused).loss;
  const double s = symmetric_kl(loss_logits(spec, y1), loss_logits(spec, y2), 3);
  EXPECT_GT(s, 1e-3);
  EXPECT_NEAR(r.task_loss, 0.5 * (l1 + l2), 1e-12);
  EXPECT_NEAR(r.divergence, s, 1e-12);
  EXPECT_NEAR(r.total.loss, 0.5 * (l1 + l2) + weight * s, 1e-12);
  EXPECT_EQ(r.total.predictions, first.predictions);

  const double h = 1e-5;
  Tensor<double> scratch;
  for (std::size_t i = 0; i < out.size(); ++i) {
    const double saved = out[i];
    out[i] = saved + h;
    const double up = objective.compute(spec, weight, out, labels, scratch).total.loss;
    out[i] = saved - h;
    const double down = objective.compute(spec, weight, out, labels, scratch).total.loss;
    out[i] = saved;
    EXPECT_NEAR(grad[i], (up - down) / (2 * h), 1e-8) << "element " << i;
  }
}

TEST(TwoPass, ObjectiveGradientMatchesFiniteDifferencesCeCount) {
  check_objective(LossKind::ce_count);
}
TEST(TwoPass, ObjectiveGradientMatchesFiniteDifferencesMeanMembrane) {
  check_objective(LossKind::ce_mean_membrane);
}

TEST(TwoPass, RejectsAnOutputThatIsNotTwiceTheBatch) {
  LossSpec spec;
  TwoPassObjective<double> objective;
  Tensor<double> grad;
  const std::vector<std::int32_t> labels{0, 1};
  EXPECT_THROW(objective.compute(spec, 0.5, random_tensor({2, 3, 2}, 1, 0, 1), labels, grad),
               Error);
}

std::string train_config(const std::string& train_lines, ExperimentConfig* out = nullptr) {
  const std::string text =
      "name = \"t\"\n[data]\ntime_steps = 8\n[[network.layers]]\nkind = \"dense\"\nunits = "
      "10\n[[network.layers]]\nkind = \"lif\"\n[train]\n" +
      train_lines;
  try {
    const ExperimentConfig c = parse_experiment(parse_config_string(text, "t.toml"));
    if (out) *out = c;
    return "ok";
  } catch (const ConfigError& e) {
    return e.what();
  }
}

TEST(TwoPass, ConfigKeysAndErrors) {
  ExperimentConfig c;
  ASSERT_EQ(train_config("", &c), "ok");
  EXPECT_FALSE(c.train.two_pass);
  EXPECT_EQ(c.train.two_pass_weight, 0.5);
  ASSERT_EQ(train_config("two_pass = true\ntwo_pass_weight = 1.5\n", &c), "ok");
  EXPECT_TRUE(c.train.two_pass);
  EXPECT_EQ(c.train.two_pass_weight, 1.5);
  std::string e = train_config("two_pass = 1\n");
  EXPECT_NE(e.find("two_pass"), std::string::npos) << e;
  e = train_config("two_pass = true\ntwo_pass_weight = -0.1\n");
  EXPECT_NE(e.find("two_pass_weight"), std::string::npos) << e;
  EXPECT_NE(e.find("line 11"), std::string::npos) << e;
  e = train_config("two_passes = true\n");
  EXPECT_NE(e.find("two_passes"), std::string::npos) << e;
}

// The ready config: W1 with moderate dropout after the hidden layer and the two-pass objective.
TEST(TwoPass, LtmdConfigLoads) {
  const ExperimentConfig c = load_experiment(HOMEOSTAT_SOURCE_DIR "/experiments/w1_ltmd.toml", {});
  EXPECT_TRUE(c.train.two_pass);
  EXPECT_EQ(c.train.two_pass_weight, 0.5);
  ASSERT_EQ(c.layers.size(), 5u);
  EXPECT_EQ(c.layers[2].kind, LayerKind::moderate_dropout);
  EXPECT_EQ(c.layers[2].drop_probability, 0.2);
}

}  // namespace
}  // namespace homeostat
