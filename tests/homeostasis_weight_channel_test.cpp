// The weight-channel regulators move activity the intended way: weight bounds and sleep pull a
// layer whose input weights grew (here: scaled x3 after the regulators took their baseline) back
// toward its baseline firing rate. The learning rate is 0, so only the regulator moves weights.
#include <gtest/gtest.h>

#include <cstdio>
#include <sstream>

#include "data/dataset.hpp"
#include "homeostasis/homeostasis.hpp"
#include "io/config_reader.hpp"
#include "io/experiment_config.hpp"
#include "metrics/activity.hpp"
#include "network/builder.hpp"
#include "train/optimizer.hpp"
#include "train/trainer.hpp"

namespace homeostat {
namespace {

constexpr std::size_t kBatch = 32;

// 784-100-10 LIF, T = 10, Fashion-MNIST, no optimizer steps; `extra` adds [[homeostasis]].
ExperimentConfig frozen_config(const std::string& extra) {
  std::ostringstream text;
  text << "name = \"w\"\nseed = 3\n[data]\ntime_steps = 10\n"
       << "[[network.layers]]\nkind = \"dense\"\nname = \"fc1\"\nunits = 100\ninit = \"normal\"\n"
       << "[[network.layers]]\nkind = \"lif\"\nname = \"hidden\"\nthreshold = 1.0\n"
       << "[[network.layers]]\nkind = \"dense\"\nname = \"fc2\"\nunits = 10\ninit = \"normal\"\n"
       << "[[network.layers]]\nkind = \"lif\"\nname = \"out\"\n"
       << "[train]\nlr = 0.0\nbatch_size = " << kBatch << "\n"
       << extra;
  return parse_experiment(parse_config_string(text.str(), "test.toml"));
}

// Trains `batches` frozen batches after scaling fc1's weights by `gain` (once the regulators
// have their baseline); returns the hidden layer's rate in each batch's forward pass.
struct FrozenRun {
  std::vector<double> rates;
  nlohmann::json regulator_state;  // describe() of the first regulator after the last batch
  float largest_weight = 0.0f;     // max |w| of fc1 after the last batch
};

FrozenRun run_frozen(const std::string& extra, float gain, std::size_t batches) {
  const ExperimentConfig config = frozen_config(extra);
  const Dataset data = load_idx_split(config.data.directory, "train", kBatch * batches);
  Network<float> network = build_network<float>(config.layers, network_input_shape(config),
                                                config.data.time_steps, config.seed);
  Optimizer<float> optimizer(config.train.optimizer, network.parameters());
  ActivityMonitor<float> monitor(network);
  Homeostasis<float> homeostasis(config.homeostasis, network);
  Tensor<float>& fc1 = *network.layer(0).incoming_synapses().weights.at(0);
  for (std::size_t i = 0; i < fc1.size(); ++i) fc1[i] *= gain;
  TrainingStep step(config, network, optimizer, monitor, homeostasis);
  FrozenRun result;
  std::vector<std::size_t> indices(kBatch);
  std::vector<std::int32_t> labels(kBatch);
  for (std::size_t batch = 0; batch < batches; ++batch) {
    for (std::size_t i = 0; i < kBatch; ++i) {
      indices[i] = batch * kBatch + i;
      labels[i] = data.labels[indices[i]];
    }
    step.run(data, indices, labels, TrainingClock{0, batch, batches}, 0.0);
    const Tensor<float>& spikes = network.output(1);
    double sum = 0.0;
    for (std::size_t e = 0; e < spikes.size(); ++e) sum += spikes[e];
    result.rates.push_back(sum / static_cast<double>(spikes.size()));
  }
  if (!homeostasis.regulators().empty())
    result.regulator_state = homeostasis.regulators().front()->describe();
  for (std::size_t i = 0; i < fc1.size(); ++i)
    result.largest_weight = std::max(result.largest_weight, std::abs(fc1[i]));
  return result;
}

double mean(const std::vector<double>& values, std::size_t from) {
  double sum = 0.0;
  for (std::size_t i = from; i < values.size(); ++i) sum += values[i];
  return sum / static_cast<double>(values.size() - from);
}

TEST(WeightChannelActivity, WeightBoundsPullAGrownLayerBackDown) {
  const double baseline = mean(run_frozen("", 1.0f, 4).rates, 0);
  const FrozenRun grown = run_frozen("", 3.0f, 4);
  const double grown_rate = mean(grown.rates, 0);
  ASSERT_GT(grown_rate, 1.5 * baseline) << "scaling fc1 x3 should make the layer busier";
  // Bounds inside the scaled weights' spread (initial N(0, 1/784): sd 0.036, x3: 0.107).
  const FrozenRun bounded = run_frozen(R"(
[[homeostasis]]
kind = "weight_bounds"
layers = ["hidden"]
min = -0.06
max = 0.06
)",
                                       3.0f, 4);
  // From batch 1 on (after the first update) the scaled weights are bounded.
  const double bounded_rate = mean(bounded.rates, 1);
  std::printf("[ activity ] hidden rate: baseline %.3f, fc1 x3 %.3f, x3 with bounds %.3f\n",
              baseline, grown_rate, bounded_rate);
  EXPECT_LT(bounded_rate, 0.8 * mean(grown.rates, 1)) << "baseline " << baseline;
  EXPECT_LT(std::abs(bounded_rate - baseline), std::abs(grown_rate - baseline));
  EXPECT_LE(bounded.largest_weight, 0.06f);
  EXPECT_GT(bounded.regulator_state.at("fraction_at_bounds").get<double>(), 0.05);
}

TEST(WeightChannelActivity, SleepOnScheduleAndOnWeightSumRestoresTheBaselineRate) {
  const double baseline = mean(run_frozen("", 1.0f, 6).rates, 0);
  const double grown_rate = mean(run_frozen("", 3.0f, 6).rates, 1);
  ASSERT_GT(grown_rate, 1.5 * baseline);
  // Schedule: every batch, ratio 1 x T = 10 sleep steps of lambda 0.9 (exponent 0.35 per
  // episode): |w| contracts toward its initial mean in log space.
  const FrozenRun scheduled = run_frozen(R"(
[[homeostasis]]
kind = "sleep"
layers = ["hidden"]
interval = 1
ratio = 1.0
lambda = 0.9
)",
                                         3.0f, 6);
  EXPECT_GE(scheduled.regulator_state.at("episodes").get<double>(), 6.0);
  const double scheduled_rate = mean(scheduled.rates, 3);
  EXPECT_LT(scheduled_rate, 0.8 * grown_rate) << "baseline " << baseline;
  EXPECT_LT(std::abs(scheduled_rate - baseline), 0.5 * std::abs(grown_rate - baseline));
  // Weight-sum trigger: sum|w| is 3x its initial value (> max_factor 1.5), so the first episode
  // sleeps until the sum is back within baseline_factor (1.05) of the baseline.
  const FrozenRun triggered = run_frozen(R"(
[[homeostasis]]
kind = "sleep"
layers = ["hidden"]
trigger = "weight_sum"
lambda = 0.9
)",
                                         3.0f, 6);
  EXPECT_GE(triggered.regulator_state.at("episodes").get<double>(), 1.0);
  EXPECT_LE(triggered.regulator_state.at("weight_sum_ratio").get<double>(), 1.05 + 1e-6);
  const double triggered_rate = mean(triggered.rates, 1);
  std::printf(
      "[ activity ] hidden rate: baseline %.3f, fc1 x3 %.3f, x3 with scheduled sleep %.3f, with "
      "weight-sum sleep %.3f\n",
      baseline, grown_rate, scheduled_rate, triggered_rate);
  EXPECT_LT(triggered_rate, 0.8 * grown_rate) << "baseline " << baseline;
  EXPECT_LT(std::abs(triggered_rate - baseline), 0.5 * std::abs(grown_rate - baseline));
}

}  // namespace
}  // namespace homeostat
