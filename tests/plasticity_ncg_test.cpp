// NCG supervised STDP on hand-computed numbers: latency times, first-spike decision with the
// potential tie-break, the S2-STDP error and (anti-)STDP weight change, multiplicative factors,
// and the competition regulation of the training thresholds.
#include <gtest/gtest.h>

#include <cmath>

#include "plasticity/ncg.hpp"

namespace homeostat {
namespace {

NcgParams tiny(std::size_t per_class, double beta) {
  NcgParams p;
  p.per_class = per_class;
  p.steps = 10;
  p.threshold = 1.0;
  p.threshold_min = 0.1;
  p.threshold_lr = 0.2;
  p.gap = 2.0;
  p.a_plus = 0.1;
  p.a_minus = -0.1;
  p.beta = beta;
  p.w_min = 0.0;
  p.w_max = 10.0;
  p.normalize = 0.0;
  return p;
}

Dataset one_sample(std::int32_t label) {
  Dataset d;
  d.sample_shape = {3};
  d.samples = {1.0f, 0.5f, 0.0f};  // spike times 0, round(4.5) = 5, none
  d.labels = {label};
  d.num_classes = 2;
  return d;
}

TEST(Ncg, FirstSpikeDecisionAndS2StdpUpdate) {
  for (const double beta : {0.0, 1.0}) {
    NcgClassifier n(3, 2, tiny(1, beta));
    n.weights = {0.6f, 0.3f, 0.6f, 0.8f, 1.0f, 1.0f};  // [input][output]
    const Dataset d = one_sample(1);
    // Both outputs cross 1 at step 5 (1.2 and 1.1): the tie goes to the higher potential.
    EXPECT_EQ(n.predict(d.samples), 0u);
    EXPECT_EQ(n.times()[0], 5u);
    EXPECT_EQ(n.times()[1], 5u);
    const std::vector<std::size_t> order{0};
    n.train_epoch(d, order, 0);
    // t_base = 5, gap_nt = 1, gap_t = 1: target (class 1) T = 4, e = +0.1; other T = 6, e = -0.1.
    const auto causal = [&](double w, double e) {
      return w + e * 0.1 * std::exp(-beta * w / 10.0);
    };
    const auto other = [&](double w, double e) {
      return w + e * -0.1 * std::exp(-beta * (10.0 - w) / 10.0);
    };
    EXPECT_NEAR(n.weights[1], causal(0.3, 0.1), 1e-6);   // input 0 -> target: potentiated
    EXPECT_NEAR(n.weights[3], causal(0.8, 0.1), 1e-6);   // input 1 -> target
    EXPECT_NEAR(n.weights[5], other(1.0, 0.1), 1e-6);    // silent input -> target: depressed
    EXPECT_NEAR(n.weights[0], causal(0.6, -0.1), 1e-6);  // anti-STDP on the other class
    EXPECT_NEAR(n.weights[2], causal(0.6, -0.1), 1e-6);
    EXPECT_NEAR(n.weights[4], other(1.0, -0.1), 1e-6);
  }
}

TEST(Ncg, CompetitionRegulationConservesTheThresholdSum) {
  NcgClassifier n(3, 2, tiny(2, 0.0));
  // outputs: class 0 -> {0, 1}, class 1 -> {2, 3}; output 3 reaches threshold first.
  n.weights = {0.1f, 0.1f, 0.2f, 0.6f, 0.1f, 0.1f, 0.9f, 0.9f, 0.0f, 0.0f, 0.0f, 0.0f};
  const Dataset d = one_sample(1);
  const std::vector<std::size_t> order{0};
  n.train_epoch(d, order, 0);
  // winner 3: +0.2 * (M - 1) / M = +0.1; the other member: -0.2 / M = -0.1.
  EXPECT_NEAR(n.training_thresholds[3], 1.1, 1e-12);
  EXPECT_NEAR(n.training_thresholds[2], 0.9, 1e-12);
  EXPECT_NEAR(n.training_thresholds[0], 1.0, 1e-12);  // other classes untouched
}

}  // namespace
}  // namespace homeostat
