// Moderate dropout (layer/moderate_dropout.hpp, papers.md 5b): keep probabilities against a
// hand-computed example, clipping, one mask for every step, the empirical keep frequency, the
// backward mask, identity at evaluation, and the config kind.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "common/error.hpp"
#include "config/config_reader.hpp"
#include "config/experiment_reader.hpp"
#include "layer/moderate_dropout.hpp"

namespace homeostat {
namespace {

// d = (0, 0.25, 0.5, 1), r = 0.2: p = d (min 0, max 1), mean p = 0.4375,
// r / (1 - mean p) = 0.2 / 0.5625 = 0.35556; q = 1 - (1 - p) 0.35556 =
// (0.64444, 0.73333, 0.82222, 1), whose mean is 1 - r = 0.8.
TEST(ModerateDropout, KeepProbabilitiesMatchHandComputedExample) {
  std::vector<double> q;
  moderate_keep_probabilities(std::vector<double>{0.0, 0.25, 0.5, 1.0}, 0.2, q);
  ASSERT_EQ(q.size(), 4u);
  EXPECT_NEAR(q[0], 1.0 - 0.2 / 0.5625, 1e-12);
  EXPECT_NEAR(q[0], 0.644444, 1e-6);
  EXPECT_NEAR(q[1], 0.733333, 1e-6);
  EXPECT_NEAR(q[2], 0.822222, 1e-6);
  EXPECT_NEAR(q[3], 1.0, 1e-12);
  EXPECT_NEAR((q[0] + q[1] + q[2] + q[3]) / 4, 0.8, 1e-12);
  // Shifted and scaled rates give the same p, hence the same q.
  std::vector<double> q2;
  moderate_keep_probabilities(std::vector<double>{0.1, 0.15, 0.2, 0.3}, 0.2, q2);
  for (std::size_t i = 0; i < 4; ++i) EXPECT_NEAR(q2[i], q[i], 1e-12);
}

TEST(ModerateDropout, ClipsAndHandlesEqualRates) {
  std::vector<double> q;
  // d = (0, 0, 0, 1), r = 0.9: mean p = 0.25, factor 1.2: 1 - 1.2 < 0 -> 0; the active unit 1.
  moderate_keep_probabilities(std::vector<double>{0.0, 0.0, 0.0, 1.0}, 0.9, q);
  EXPECT_EQ(q, (std::vector<double>{0.0, 0.0, 0.0, 1.0}));
  // All rates equal: p = 0, ordinary dropout at rate r.
  moderate_keep_probabilities(std::vector<double>{0.3, 0.3, 0.3}, 0.25, q);
  for (const double v : q) EXPECT_NEAR(v, 0.75, 1e-12);
}

// [T = 4, B, F = 4] with per-unit rates (0, 0.25, 0.5, 1) in every sample.
Tensor<double> rate_input(std::size_t batch) {
  Tensor<double> x({4, batch, 4});
  for (std::size_t t = 0; t < 4; ++t)
    for (std::size_t b = 0; b < batch; ++b) {
      double* row = x.data() + (t * batch + b) * 4;
      row[0] = 0;
      row[1] = t == 2 ? 1 : 0;
      row[2] = t % 2 == 0 ? 1 : 0;
      row[3] = 1;
    }
  return x;
}

TEST(ModerateDropout, OneMaskForAllStepsKeepsAtTheComputedRate) {
  const std::size_t batch = 2000;
  ModerateDropoutLayer<double> layer("md", {4}, 0.2, 3);
  const Tensor<double> x = rate_input(batch);
  Tensor<double> y;
  layer.forward(x, y, RunContext{true, 9, 1, 2});
  const std::vector<double> expected{1.0 - 0.2 / 0.5625, 0.733333333333, 0.822222222222, 1.0};
  std::vector<double> kept(4, 0.0);
  for (std::size_t e = 0; e < batch * 4; ++e) {
    const double q = layer.keep_probabilities()[e];
    EXPECT_NEAR(q, expected[e % 4], 1e-9);
    const double m = layer.mask()[e];
    EXPECT_TRUE(m == 0.0 || std::abs(m - 1.0 / q) < 1e-12) << m;
    kept[e % 4] += m != 0.0;
    for (std::size_t t = 0; t < 4; ++t) {  // the same mask at every step
      EXPECT_EQ(y[t * batch * 4 + e], x[t * batch * 4 + e] * m);
    }
  }
  for (std::size_t f = 0; f < 4; ++f) {  // binomial sd <= 0.011 at 2000 draws
    EXPECT_NEAR(kept[f] / static_cast<double>(batch), expected[f], 0.04) << "feature " << f;
  }
  // Backward multiplies by the same mask.
  Tensor<double> grad_out(x.shape());
  grad_out.fill(1.0);
  Tensor<double> grad_in;
  layer.backward(x, y, grad_out, &grad_in);
  for (std::size_t t = 0; t < 4; ++t)
    for (std::size_t e = 0; e < batch * 4; ++e)
      EXPECT_EQ(grad_in[t * batch * 4 + e], layer.mask()[e]);
  // Deterministic in its key, different for another batch.
  ModerateDropoutLayer<double> again("md", {4}, 0.2, 3);
  Tensor<double> y2;
  again.forward(x, y2, RunContext{true, 9, 1, 2});
  EXPECT_EQ(again.mask(), layer.mask());
  again.forward(x, y2, RunContext{true, 9, 1, 3});
  EXPECT_NE(again.mask(), layer.mask());
}

TEST(ModerateDropout, IdentityAtEvaluation) {
  ModerateDropoutLayer<double> layer("md", {4}, 0.5, 0);
  const Tensor<double> x = rate_input(3);
  Tensor<double> y;
  layer.forward(x, y, RunContext{false, 1, 0, 0});
  EXPECT_EQ(std::vector<double>(y.span().begin(), y.span().end()),
            std::vector<double>(x.span().begin(), x.span().end()));
}

std::string layer_config_error(const std::string& layer_lines) {
  const std::string text =
      "name = \"t\"\n[data]\ntime_steps = 8\n[[network.layers]]\nkind = \"dense\"\nunits = "
      "10\n[[network.layers]]\nkind = \"lif\"\n[[network.layers]]\n" +
      layer_lines;
  try {
    const ExperimentConfig c = parse_experiment(parse_config_string(text, "t.toml"));
    return "p=" + std::to_string(c.layers.back().drop_probability);
  } catch (const ConfigError& e) {
    return e.what();
  }
}

TEST(ModerateDropout, ConfigKindAndErrors) {
  EXPECT_EQ(layer_config_error("kind = \"moderate_dropout\"\n"), "p=0.200000");  // LTMD's r
  EXPECT_EQ(layer_config_error("kind = \"moderate_dropout\"\np = 0.3\n"), "p=0.300000");
  std::string e = layer_config_error("kind = \"moderate_dropout\"\np = 1.0\n");
  EXPECT_NE(e.find(".p'"), std::string::npos) << e;
  e = layer_config_error("kind = \"moderate_dropout\"\nrate = 0.2\n");
  EXPECT_NE(e.find("rate"), std::string::npos) << e;
}

}  // namespace
}  // namespace homeostat
